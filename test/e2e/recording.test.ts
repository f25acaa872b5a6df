/**
 * Recording from the outside: a session of the web-colors fixture recorded by ffmpeg into HLS fMP4 segments;
 * `GET /clips` answers playlists that ffprobe reads back (H.264 at the model's size, ~30 frames a second of the range),
 * 202 while the range is still being written, 410 once it aged out (retention) or for an unknown session, 400 for a
 * bad range; the segments are announced on `/events`; and Chromium plays a clip back showing the model's colours, both
 * in a plain `<video>` given the playlist (Chromium 156 plays HLS itself) and through Media Source Extensions (the page
 * reads the playlist and appends its fMP4 segments, as hls.js does for browsers without HLS). Needs ffmpeg and ffprobe
 * (`apt-get install -y ffmpeg`): skipped with a warning without them, a failure in CI.
 */
import { LogLevel } from "effect"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import * as Recorder from "../../src/session/Recorder.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Chromium from "../web/Chromium.js"
import { Client, eventually, http } from "./helpers.js"

const run = promisify(execFile)
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const hasFfmpeg = Recorder.ffmpegAvailable()
const enabled = hasFfmpeg || process.env.CI === "true"
if (!hasFfmpeg) console.warn("test/e2e/recording.test.ts: skipped, ffmpeg not found (apt-get install -y ffmpeg)")

const ffprobe = async (url: string) => {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-count_frames",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,profile,width,height,nb_read_frames:format=format_name,duration",
    "-of",
    "json",
    url
  ])
  return JSON.parse(stdout) as {
    streams: Array<{ codec_name: string; profile: string; width: number; height: number; nb_read_frames: string }>
    format: { format_name: string; duration: string }
  }
}

describe.skipIf(!enabled)("recording and clips", { timeout: 120_000 }, () => {
  let server: Server.Handle

  beforeAll(async () => {
    if (!hasFfmpeg) throw new Error("CI=true needs ffmpeg for the recording tests (apt-get install -y ffmpeg)")
    server = await Server.listen(
      Fixture.model,
      {
        host: "127.0.0.1",
        port: 0,
        maxSessions: 4,
        record: true,
        recordSegmentSeconds: 1,
        recordMaxSeconds: 4,
        graceMs: 60_000
      },
      undefined,
      logLevel
    )
  })
  afterAll(() => server?.close())

  const start = async () => {
    const answer = await http(server, "POST", "/start_session", {
      body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    return answer.body.session_id as string
  }
  const clip = (id: string, start: number | string, end: number | string) =>
    fetch(`${server.url}/clips?session_id=${id}&start=${start}&end=${end}`)

  it("records segments that ffprobe reads back as H.264 at the model's size, ~30 frames a second", async () => {
    const id = await start()
    expect(await eventually(async () => (await clip(id, 0, 2)).status === 200, 60_000)).toBe(true)
    // still being written: ask again later
    const pending = await clip(id, 0, 1000)
    expect(pending.status).toBe(202)
    expect(Number(pending.headers.get("retry-after"))).toBeGreaterThan(0)

    const answer = await clip(id, 0, 2)
    expect(answer.headers.get("content-type")).toContain("application/vnd.apple.mpegurl")
    const playlist = await answer.text()
    expect(playlist).toMatch(/^#EXTM3U\n/)
    expect(playlist).toContain(`#EXT-X-MAP:URI="/clips/chunks/${id}/init.mp4"`)
    expect(playlist).toContain(`/clips/chunks/${id}/chunk_00000.m4s`)
    expect(playlist).toContain("#EXT-X-ENDLIST")
    // a token given to /clips (a player cannot send headers) is carried into the segment URIs
    const withToken = await (await fetch(`${server.url}/clips?session_id=${id}&start=0&end=2&token=t0k`)).text()
    expect(withToken).toContain(`#EXT-X-MAP:URI="/clips/chunks/${id}/init.mp4?token=t0k"`)
    expect(withToken).toContain(`/clips/chunks/${id}/chunk_00000.m4s?token=t0k`)

    const probe = await ffprobe(`${server.url}/clips?session_id=${id}&start=0&end=2`)
    expect(probe.format.format_name).toContain("hls")
    expect(probe.streams[0]).toMatchObject({
      codec_name: "h264",
      profile: "Main",
      width: Fixture.width,
      height: Fixture.height
    })
    const seconds = Number(probe.format.duration)
    expect(seconds).toBeGreaterThanOrEqual(1.5)
    // the grid: 30 frames a second of media, whatever the model's own pace
    expect(Number(probe.streams[0]!.nb_read_frames) / seconds).toBeGreaterThan(25)
    expect(Number(probe.streams[0]!.nb_read_frames) / seconds).toBeLessThan(35)

    // a segment's own file, and refusals
    const init = await fetch(`${server.url}/clips/chunks/${id}/init.mp4`)
    expect(init.status).toBe(200)
    expect(init.headers.get("content-type")).toBe("video/mp4")
    expect((await fetch(`${server.url}/clips/chunks/${id}/manifest.txt`)).status).toBe(404)
    expect((await fetch(`${server.url}/clips/chunks/${id}/chunk_99999.m4s`)).status).toBe(404)
    expect((await fetch(`${server.url}/clips/chunks/..%2F..%2Fetc/passwd`)).status).toBeGreaterThanOrEqual(400)
    expect((await clip("no-such-session", 0, 1)).status).toBe(410)
    expect(await (await clip(id, 2, 1)).json()).toMatchObject({ code: "invalid_request" })
    expect((await clip(id, "x", 1)).status).toBe(400)
    expect((await fetch(`${server.url}/clips?start=0&end=1`)).status).toBe(400)
    await http(server, "POST", "/stop_session", { body: { session_id: id } })
  })

  it("keeps at most recordMaxSeconds: older segments are deleted and their range is gone; the end is complete", async () => {
    const id = await start()
    // 4 s kept of 1 s segments: after 7 s the first ones are gone
    expect(await eventually(async () => (await clip(id, 0, 1)).status === 410, 90_000)).toBe(true)
    await http(server, "POST", "/stop_session", { body: { session_id: id } })
    const whole = await eventually(async () => (await clip(id, 0, 10_000)).status === 200, 30_000)
    expect(whole).toBe(true)
    const playlist = await (await clip(id, 0, 10_000)).text()
    const segments = playlist.split("\n").filter((line) => line.endsWith(".m4s"))
    expect(segments.length).toBeGreaterThanOrEqual(2)
    expect(segments.length).toBeLessThanOrEqual(5)
    expect(segments[0]).not.toContain("chunk_00000")
    const probe = await ffprobe(`${server.url}/clips?session_id=${id}&start=0&end=10000`)
    expect(probe.streams[0]!.codec_name).toBe("h264")
  })

  it("answers Reactor's requestClip and requestRecording over the session's socket with a playlist to poll", async () => {
    const id = await start()
    const client = Client.connect(server, `/sessions/${id}/transport/websocket`)
    await client.next("sessionReady")
    expect(await eventually(async () => (await clip(id, 0, 1.5)).status === 200, 60_000)).toBe(true)
    client.runtime("requestClip", { duration_seconds: 1 })
    const snap = (await client.next("clipReady")).data
    expect(snap).toMatchObject({
      session_id: id,
      kind: "snap",
      playlist_url: expect.stringMatching(/^\/clips\?session_id=/)
    })
    expect(snap.end_marker - snap.start_marker).toBeCloseTo(1, 2)
    expect(snap.end_marker).toBe(snap.now_marker)
    // the range's last segment may still be written: poll until the playlist is there
    expect(await eventually(async () => (await fetch(server.url + snap.playlist_url)).status === 200, 30_000)).toBe(
      true
    )
    expect(await (await fetch(server.url + snap.playlist_url)).text()).toContain("#EXT-X-ENDLIST")
    client.runtime("requestRecording")
    expect((await client.next("clipReady")).data).toMatchObject({ kind: "recording", start_marker: 0 })
    client.runtime("requestClip", { duration_seconds: -1 })
    expect((await client.error("invalid_envelope")).data.message).toContain("requestClip")
    await client.close()
    await http(server, "POST", "/stop_session", { body: { session_id: id } })
  })

  it("a server that does not record answers clipFailed", async () => {
    const plain = await Server.listen(Fixture.model, { host: "127.0.0.1", port: 0 }, undefined, logLevel)
    try {
      const answer = await http(plain, "POST", "/start_session", {
        body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
      })
      const client = Client.connect(plain, answer.body.selected_transport.url)
      await client.next("sessionReady")
      client.runtime("requestClip", { duration_seconds: 5 })
      expect((await client.next("clipFailed")).data).toEqual({ reason: "recording is off on this server" })
      expect((await fetch(`${plain.url}/clips?session_id=${answer.body.session_id}&start=0&end=1`)).status).toBe(410)
      await client.close()
    } finally {
      await plain.close()
    }
  })

  it("announces each closed segment on /events", async () => {
    const events = await fetch(`${server.url}/events?since=0`)
    const reader = events.body!.getReader()
    const id = await start()
    let text = ""
    const decoder = new TextDecoder()
    while (!text.includes(`"chunk_ready","session_id":"${id}"`)) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    await reader.cancel()
    expect(text).toContain(`"detail":{"index":0,"uri":"/clips/chunks/${id}/chunk_00000.m4s"}`)
    await http(server, "POST", "/stop_session", { body: { session_id: id } })
  })

  describe.skipIf(!Chromium.run)("in Chromium", () => {
    let browser: Browser
    beforeAll(async () => {
      browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    })
    afterAll(() => browser?.close())

    it("plays a clip as HLS in a <video> (Chromium's own HLS playback), showing the model's colours", async () => {
      const id = await start()
      expect(await eventually(async () => (await clip(id, 0, 2)).status === 200, 60_000)).toBe(true)
      await http(server, "POST", "/stop_session", { body: { session_id: id } })
      expect(await eventually(async () => (await clip(id, 0, 10_000)).status === 200, 30_000)).toBe(true)
      const page = await browser.newPage()
      await page.goto(`${server.url}/health`)
      if (
        (await page.evaluate(() => document.createElement("video").canPlayType("application/vnd.apple.mpegurl"))) === ""
      ) {
        console.warn("this Chromium has no HLS playback of its own: the Media Source Extensions test below covers it")
        return
      }
      const result = await page.evaluate(async (url) => {
        const video = document.createElement("video")
        video.muted = true
        document.body.append(video)
        video.src = url
        await video.play()
        const started = video.currentTime
        await new Promise((resolve) => setTimeout(resolve, 1000))
        video.pause()
        const canvas = document.createElement("canvas")
        canvas.width = video.videoWidth
        canvas.height = video.videoHeight
        const context = canvas.getContext("2d")!
        context.drawImage(video, 0, 0)
        return {
          width: video.videoWidth,
          height: video.videoHeight,
          advanced: video.currentTime - started,
          duration: video.duration,
          left: Array.from(context.getImageData(40, 40, 1, 1).data.slice(0, 3))
        }
      }, `/clips?session_id=${id}&start=0&end=10000`)
      expect(result).toMatchObject({ width: Fixture.width, height: Fixture.height })
      expect(result.advanced).toBeGreaterThan(0.2)
      expect(result.duration).toBeGreaterThan(1.5)
      // the fixture's first state: red at half brightness (video compression: a tolerance)
      const wanted = Fixture.expected(Fixture.initial).left
      expect(result.left.every((v, i) => Math.abs(v - wanted[i]!) <= 40)).toBe(true)
      await page.close()
    })

    it("plays a clip back through Media Source Extensions, showing the model's colours", async () => {
      const id = await start()
      // a socket drives the session: the left half turns blue
      const session = Client.connect(server, `/sessions/${id}/transport/websocket`)
      await session.next("sessionReady")
      session.command("set_color", { hue: "blue" }, 1)
      await session.next("commandAck")
      // two seconds recorded, then the end
      expect(await eventually(async () => (await clip(id, 0, 2)).status === 200, 60_000)).toBe(true)
      await http(server, "POST", "/stop_session", { body: { session_id: id } })
      expect(await eventually(async () => (await clip(id, 0, 10_000)).status === 200, 30_000)).toBe(true)

      const page = await browser.newPage()
      await page.goto(`${server.url}/health`)
      const supported = await page.evaluate(
        (codecs) => MediaSource.isTypeSupported(`video/mp4; codecs="${codecs}"`),
        Recorder.codecs
      )
      if (!supported) {
        console.warn("this Chromium cannot decode H.264 (no proprietary codecs): playback not checked")
        return
      }
      const result = await page.evaluate(async ({ codecs, url }) => {
        const playlist = await (await fetch(url)).text()
        const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!
        const segments = playlist.split("\n").filter((line) => line.endsWith(".m4s"))
        const video = document.createElement("video")
        video.muted = true
        document.body.append(video)
        const source = new MediaSource()
        video.src = URL.createObjectURL(source)
        await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }))
        const buffer = source.addSourceBuffer(`video/mp4; codecs="${codecs}"`)
        for (const uri of [init, ...segments]) {
          buffer.appendBuffer(await (await fetch(uri)).arrayBuffer())
          await new Promise((resolve) => buffer.addEventListener("updateend", resolve, { once: true }))
        }
        source.endOfStream()
        await video.play()
        await new Promise((resolve) => setTimeout(resolve, 500))
        const end = video.buffered.end(0)
        video.pause()
        video.currentTime = Math.max(0, end - 0.3)
        await new Promise((resolve) => video.addEventListener("seeked", resolve, { once: true }))
        const canvas = document.createElement("canvas")
        canvas.width = video.videoWidth
        canvas.height = video.videoHeight
        const context = canvas.getContext("2d")!
        context.drawImage(video, 0, 0)
        return {
          width: video.videoWidth,
          height: video.videoHeight,
          duration: end,
          left: Array.from(context.getImageData(40, 40, 1, 1).data.slice(0, 3)),
          segments: segments.length
        }
      }, { codecs: Recorder.codecs, url: `/clips?session_id=${id}&start=0&end=10000` })
      expect(result).toMatchObject({ width: Fixture.width, height: Fixture.height })
      expect(result.duration).toBeGreaterThan(1.5)
      // blue at half brightness, as the model painted it after the command (video compression: a tolerance)
      const wanted = Fixture.expected({ ...Fixture.initial, hue: "blue" }).left
      expect(result.left.every((v, i) => Math.abs(v - wanted[i]!) <= 40)).toBe(true)
      await page.close()
    })
  })
})
