/**
 * Named tracks and audio with the official SDK in Chromium: `ReactorView track="keyboard" audioTrack="main_audio"`
 * over WebRTC against example 10 (the synthesiser). The page shows the model's second video track, plays its audio
 * (Opus; read back through an AnalyserNode and the peer's inbound stats), and gets each frame's metadata as a runtime
 * message. Then the codec preference: servers configured for VP9, AV1 or VP8 first, and Chromium decodes that codec.
 */
import { LogLevel } from "effect"
import { rmSync } from "node:fs"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { model, notes } from "../../examples/10-synth.js"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Chromium from "../web/Chromium.js"
import * as Bundle from "./Bundle.js"

if (!Chromium.run) console.warn(`test/sdk/tracks.test.ts: browser tests skipped: ${Chromium.missing}`)
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const config = { source: "test", value: { width: 320, height: 180, fps: 25 } }

interface Inbound {
  readonly mid: string
  readonly packetsReceived: number
  readonly framesDecoded: number
  readonly totalAudioEnergy: number
  readonly codec: string | null
}

declare global {
  interface Window {
    probe: {
      status: string
      runtime: Array<{ type: string; data: any }>
      command: ((type: string, data: unknown) => Promise<void>) | null
      tracks: Array<string>
      level: (() => number) | null
      inbound: () => Promise<Record<string, Array<Inbound>> | null>
    }
  }
}

/** Starts a server with `REACTOR_WEBRTC_*` settings from the environment (the transport reads them at start). */
const withEnv = async (env: Record<string, string>, start: () => Promise<Server.Handle>) => {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]))
  Object.assign(process.env, env)
  try {
    return await start()
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

describe.skipIf(!Chromium.run)(
  Chromium.run ? "sdk: named tracks, audio and codecs (Chromium)" : `sdk tracks: skipped, ${Chromium.missing}`,
  { timeout: subprocessTestMs },
  () => {
    let browser: Browser
    let webRoot: string
    const servers: Array<Server.Handle> = []

    beforeAll(async () => {
      Chromium.ensure()
      webRoot = await Bundle.page("tracks.js")
      browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    })

    afterAll(async () => {
      await browser?.close()
      for (const server of servers) await server.close()
      if (webRoot) rmSync(webRoot, { recursive: true, force: true })
    })

    const serve = async (env: Record<string, string> = {}) => {
      const server = await withEnv(
        env,
        () => Server.listen(model, { host: "127.0.0.1", port: 0, maxSessions: 4, webRoot }, config, logLevel)
      )
      servers.push(server)
      return server
    }

    const open = async (server: Server.Handle, query: string): Promise<Page> => {
      const page = await browser.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      await page.goto(`${server.url}/${query}`)
      await page.waitForFunction(() => window.probe?.status === "ready", null, { timeout: subprocessMs })
      return page
    }

    /** One pixel of the `<video>` as shown, at the track's frame coordinates. */
    const pixel = (page: Page, x: number, y: number): Promise<Array<number>> =>
      page.evaluate(([x, y]) => {
        const video = document.querySelector("video")!
        if (video.videoWidth === 0) return []
        const canvas = document.createElement("canvas")
        canvas.width = video.videoWidth
        canvas.height = video.videoHeight
        const context = canvas.getContext("2d")!
        context.drawImage(video, 0, 0)
        return Array.from(context.getImageData(x!, y!, 1, 1).data.slice(0, 3))
      }, [x, y])

    const near = (rgb: ReadonlyArray<number>, wanted: ReadonlyArray<number>, tolerance = 40) =>
      rgb.length === 3 && rgb.every((v, i) => Math.abs(v - wanted[i]!) <= tolerance)

    it("ReactorView shows the named video track and plays the model's audio; the metadata arrives", async () => {
      const server = await serve()
      const page = await open(server, "?track=keyboard&audio=main_audio")
      expect(await page.evaluate(() => window.probe.tracks.sort())).toEqual(["keyboard", "main_audio", "main_video"])
      // the keyboard track: 320x60, white keys before any note
      await expect.poll(() => page.evaluate(() => document.querySelector("video")!.videoHeight), {
        timeout: subprocessMs
      }).toBe(60)
      const whites = notes.filter((note) => !note.includes("#"))
      const keyX = Math.floor((whites.indexOf("A4") + 0.5) * (320 / whites.length))
      await expect.poll(() => pixel(page, keyX, 55), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb) =>
        near(rgb as Array<number>, [240, 240, 240])
      )
      // audio packets flow, and they are silence
      await expect.poll(
        async () => (await page.evaluate(() => window.probe.inbound()))?.audio?.[0]?.packetsReceived ?? 0,
        { timeout: subprocessMs, interval: 200 }
      ).toBeGreaterThan(20)
      await expect.poll(() => page.evaluate(() => window.probe.level !== null), { timeout: subprocessMs }).toBe(true)
      expect(await page.evaluate(() => window.probe.level!())).toBeLessThan(0.01)

      await page.evaluate(() => window.probe.command!("play_note", { note: "A4", duration: 10 }))
      // the key turns red, the sound is loud (a sine at volume 0.5: RMS about 0.35), its energy counted by Chromium
      await expect.poll(() => pixel(page, keyX, 55), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb) =>
        near(rgb as Array<number>, [220, 30, 30], 60)
      )
      await expect.poll(() => page.evaluate(() => window.probe.level!()), { timeout: subprocessMs, interval: 100 })
        .toBeGreaterThan(0.1)
      await expect.poll(
        async () => (await page.evaluate(() => window.probe.inbound()))?.audio?.[0]?.totalAudioEnergy ?? 0,
        { timeout: subprocessMs, interval: 200 }
      ).toBeGreaterThan(0)
      const metadata = await page.evaluate(() =>
        window.probe.runtime.filter((m) => m.type === "frameMetadata").map((m) => m.data)
      )
      expect(metadata.length).toBeGreaterThan(0)
      expect(metadata.at(-1)).toMatchObject({ track: "main_video", metadata: { waveform: "sine", volume: 0.5 } })
      await expect.poll(() =>
        page.evaluate(() =>
          window.probe.runtime.some((m) => m.type === "frameMetadata" && m.data.metadata.note === "A4")
        )
      ).toBe(true)
      await page.close()
    })

    it.each([
      ["VP9,VP8", "video/VP9"],
      ["AV1,VP8", "video/AV1"],
      ["VP8,VP9", "video/VP8"],
      // the engine (@roamhq/wrtc 0.10) has no H264 encoder: the next codec of the preference is used
      ["H264,VP9", "video/VP9"]
    ])("codecs %s: Chromium decodes %s", async (codecs, mimeType) => {
      const server = await serve({ REACTOR_WEBRTC_CODECS: codecs })
      const page = await open(server, "?track=main_video")
      const decoded = async () => {
        const videos = (await page.evaluate(() => window.probe.inbound()))?.video ?? []
        return videos.filter((video) => video.framesDecoded > 0).map((video) => video.codec)
      }
      // both video tracks (main_video and keyboard) use the preferred codec
      await expect.poll(decoded, { timeout: subprocessMs, interval: 200 }).toEqual([mimeType, mimeType])
      await page.close()
      await server.close()
      servers.splice(servers.indexOf(server), 1)
    })
  }
)
