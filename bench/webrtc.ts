/**
 * 9. WebRTC: one 640x360 30 fps stream to headless Chromium, over the WebRTC transport (VP8 by libwebrtc) against the
 * WebSocket transport with JPEG, both from the same runtime serving the same model in one run. The model draws the
 * wall clock into every frame (ClockPixels.ts); the page reads it back off each frame as it is presented
 * (`requestVideoFrameCallback` for the video, a decoded bitmap for JPEG), so latency is frame emission to screen,
 * codec and all. Server CPU is the server process's (the encoder's threads included) over the same window, beside the
 * model alone with no viewer.
 */
import { existsSync } from "node:fs"
import * as Chromium from "../test/web/Chromium.js"
import * as Child from "./lib/Child.js"
import * as ClockPixels from "./lib/ClockPixels.js"
import { attempt, type Benchmark, type Config } from "./lib/Harness.js"
import * as Page from "./lib/Page.js"
import * as Proc from "./lib/Proc.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import type { Clock } from "./servers/Job.js"

const job: Clock = { job: "clock", fps: 30, width: 640, height: 360 }
const chromiumPath = Chromium.path

/** The viewer page: starts a session over one transport and records each presented frame's age. */
export const page =
  `<!doctype html><meta charset="utf-8"><video id="v" muted autoplay playsinline></video><canvas id="c"></canvas>
<script>
${ClockPixels.decodeSource}
const params = new URLSearchParams(location.search)
const server = params.get("server")
const transport = params.get("transport")
window.bench = { ages: [], atReceive: [], atDisplay: [], frames: 0, ready: false, error: null }
const canvas = document.getElementById("c")
const ctx = canvas.getContext("2d", { willReadFrequently: true })
const record = (source, width, height, metadata) => {
  canvas.width = width
  canvas.height = height
  ctx.drawImage(source, 0, 0)
  const age = clockAge(ctx)
  window.bench.ages.push(age)
  window.bench.frames++
  // The video frame's own timeline (requestVideoFrameCallback): when its last packet arrived, and when the
  // compositor expects to show it, each as the frame's age at that moment.
  if (metadata !== undefined && metadata.receiveTime !== undefined) {
    const now = performance.now()
    window.bench.atReceive.push(age - (now - metadata.receiveTime))
    window.bench.atDisplay.push(age + (metadata.expectedDisplayTime - now))
  }
}
const json = { "content-type": "application/json" }
async function start() {
  const started = await (await fetch(server + "/start_session", { method: "POST", headers: json,
    body: JSON.stringify({ supported_transports: [{ protocol: transport }] }) })).json()
  const id = started.session_id
  if (transport === "webrtc") {
    const pc = new RTCPeerConnection({ iceServers: [] })
    window.bench.receiverStats = async () => {
      const stats = await pc.getStats()
      for (const report of stats.values()) {
        if (report.type === "inbound-rtp" && report.kind === "video") {
          return { ...report, codecMimeType: report.codecId ? stats.get(report.codecId)?.mimeType : undefined }
        }
      }
      return null
    }
    const channel = pc.createDataChannel("data")
    const video = pc.addTransceiver("video", { direction: "recvonly" })
    pc.ontrack = (event) => {
      const element = document.getElementById("v")
      element.srcObject = new MediaStream([event.track])
      element.play()
      const onFrame = (_now, metadata) => {
        record(element, element.videoWidth, element.videoHeight, metadata)
        element.requestVideoFrameCallback(onFrame)
      }
      element.requestVideoFrameCallback(onFrame)
    }
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve()
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve()
      setTimeout(resolve, 3000)
    })
    const base = server + "/sessions/" + id + "/transport/webrtc/sdp_params"
    await fetch(base, { method: "POST", headers: json, body: JSON.stringify({ sdp_offer: pc.localDescription.sdp,
      track_mapping: [{ name: "main_video", kind: "video", direction: "recvonly", mid: video.mid }] }) })
    const answer = await (await fetch(base)).json()
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp_answer })
    channel.onopen = () => {
      window.bench.ready = true
      setInterval(() => channel.send(JSON.stringify({ scope: "runtime", data: { type: "ping", data: {} } })), 5000)
    }
  } else {
    const ws = new WebSocket(server.replace("http", "ws") + "/sessions/" + id + "/transport/websocket?format=jpeg&quality=80")
    ws.binaryType = "arraybuffer"
    ws.onopen = () => (window.bench.ready = true)
    ws.onmessage = async (event) => {
      if (typeof event.data === "string") return
      const bitmap = await createImageBitmap(new Blob([new Uint8Array(event.data, 24)], { type: "image/jpeg" }))
      record(bitmap, bitmap.width, bitmap.height)
      bitmap.close()
    }
  }
}
start().catch((error) => (window.bench.error = String(error)))
</script>`

export interface Measured {
  readonly ages: Stats.Summary
  /** The frame's age when its last packet reached the browser, and at its expected display (WebRTC only). */
  readonly atReceive?: Stats.Summary | undefined
  readonly atDisplay?: Stats.Summary | undefined
  readonly fps: number
  readonly cpuPercent: number
  /** The server's busiest threads over the window (libwebrtc names its own: EncoderQueue, PacerQueue, ...). */
  readonly threads: Array<readonly [string, number]>
  /** Chromium's own account of its share (WebRTC only): `inbound-rtp` stats, per frame over the session. */
  readonly receiver?: ReceiverShare | undefined
  /** The video codec Chromium decoded (WebRTC only), e.g. `video/VP8`. */
  readonly codec?: string | undefined
}

/** Chromium's receive side, ms per frame, from its `inbound-rtp` stats (totals over the session so far). */
interface ReceiverShare {
  /** First to last packet of a frame (the sender's pacing shows here). */
  readonly assemblyMs: number
  /** Time a frame waited in the jitter buffer before decoding. */
  readonly jitterBufferMs: number
  readonly decodeMs: number
  /** First packet received to the frame decoded. */
  readonly processingMs: number
}

const receiverShare = (stats: Record<string, number>): ReceiverShare => {
  const per = (total: string, count: string) => (1000 * (stats[total] ?? Number.NaN)) / (stats[count] ?? Number.NaN)
  return {
    assemblyMs: per("totalAssemblyTime", "framesAssembledFromMultiplePackets"),
    jitterBufferMs: per("jitterBufferDelay", "jitterBufferEmittedCount"),
    decodeMs: per("totalDecodeTime", "framesDecoded"),
    processingMs: per("totalProcessingDelay", "framesDecoded")
  }
}

/** One transport: a fresh server, one viewer tab, the warm-up (libwebrtc ramps its bitrate), then the window. */
export const measure = async (
  browser: Page.Browser,
  pageUrl: string,
  transport: "webrtc" | "websocket",
  config: Config,
  /** The model's job (640x360 at 30 fps by default) and the server's environment (e.g. `REACTOR_WEBRTC_CODECS`). */
  served: { readonly job?: Clock; readonly env?: Record<string, string>; readonly listenTimeoutMs?: number } = {}
): Promise<Measured> => {
  const child = await Child.start("runtime.ts", served.job ?? job, served.env ?? {}, served.listenTimeoutMs)
  const tab = await browser.newPage()
  try {
    const { warmupMs, windowMs } = Page.windows(config)
    await tab.goto(`${pageUrl}/?transport=${transport}&server=http://127.0.0.1:${child.port}`)
    await tab.waitForFunction(() => (window as any).bench.frames > 5 || (window as any).bench.error !== null, null, {
      timeout: 20_000
    })
    const error = await tab.evaluate(() => (window as any).bench.error as string | null)
    if (error !== null) throw new Error(`the page failed: ${error}`)
    await Page.sleep(warmupMs)
    await tab.evaluate(() => {
      ;(window as any).bench.ages = []
      ;(window as any).bench.atReceive = []
      ;(window as any).bench.atDisplay = []
      ;(window as any).bench.frames = 0
    })
    const cpu0 = Proc.sample(child.pid)
    const threads0 = Proc.threads(child.pid)
    const t0 = performance.now()
    await Page.sleep(windowMs)
    const cpu1 = Proc.sample(child.pid)
    const threads1 = Proc.threads(child.pid)
    const seconds = (performance.now() - t0) / 1000
    const { ages, atDisplay, atReceive, frames } = await tab.evaluate(() => ({
      ages: (window as any).bench.ages as Array<number>,
      atReceive: (window as any).bench.atReceive as Array<number>,
      atDisplay: (window as any).bench.atDisplay as Array<number>,
      frames: (window as any).bench.frames as number
    }))
    const receiver = await tab.evaluate(async () => {
      const stats = (window as any).bench.receiverStats
      return stats === undefined
        ? null
        : (await stats()) as (Record<string, number> & { codecMimeType?: string }) | null
    })
    return {
      ages: Stats.summarize(ages),
      atReceive: atReceive.length > 0 ? Stats.summarize(atReceive) : undefined,
      atDisplay: atDisplay.length > 0 ? Stats.summarize(atDisplay) : undefined,
      fps: frames / seconds,
      cpuPercent: cpu0 !== undefined && cpu1 !== undefined ? Proc.cpuPercent(cpu0, cpu1) : Number.NaN,
      threads: Proc.threadPercents(threads0, threads1, seconds),
      receiver: receiver === null ? undefined : receiverShare(receiver),
      codec: receiver?.codecMimeType
    }
  } finally {
    await tab.close()
    await child.stop()
  }
}

/** The model alone: a session started, no viewer attached (it generates all the same), over the same window. */
export const modelAlone = async (config: Config, served: Clock = job, listenTimeoutMs?: number): Promise<number> => {
  const child = await Child.start("runtime.ts", served, {}, listenTimeoutMs)
  try {
    await fetch(`http://127.0.0.1:${child.port}/start_session`, { method: "POST", body: "{}" })
    const { warmupMs, windowMs } = Page.windows(config)
    await Page.sleep(Math.min(warmupMs, 2000))
    const cpu0 = Proc.sample(child.pid)
    await Page.sleep(windowMs)
    const cpu1 = Proc.sample(child.pid)
    return cpu0 !== undefined && cpu1 !== undefined ? Proc.cpuPercent(cpu0, cpu1) : Number.NaN
  } finally {
    await child.stop()
  }
}

const title = "9. WebRTC against WebSocket JPEG (640x360, 30 fps, headless Chromium)"
const columns = {
  runtime: `the WebRTC transport: VP8 by libwebrtc (@roamhq/wrtc), bitrate ${
    process.env.REACTOR_WEBRTC_MAX_KBPS
      ? `capped at ${process.env.REACTOR_WEBRTC_MAX_KBPS} kbit/s`
      : "libwebrtc's own (no cap)"
  }, playout delay ${process.env.REACTOR_WEBRTC_PLAYOUT_DELAY ?? "0"}, pacer burst ${
    process.env.REACTOR_WEBRTC_PACER_BURST_MS ?? "40"
  } ms`,
  baseline: "the WebSocket transport, JPEG quality 80 (same runtime, same model, same page)"
}

/** The table's rows from what was measured (a side that failed or did not run has no figures). */
const rows = (rtc: Measured | undefined, ws: Measured | undefined): Array<Table.Row> => {
  const row = (
    metric: string,
    unit: string,
    of: (m: Measured) => number,
    better: Table.Better,
    target?: (value: number) => Table.Row["target"]
  ): Table.Row => {
    const runtime = rtc === undefined ? undefined : of(rtc)
    return {
      metric,
      unit,
      runtime,
      baseline: ws === undefined ? undefined : of(ws),
      better,
      ...(target !== undefined && runtime !== undefined ? { target: target(runtime) } : {})
    }
  }
  return [
    row("frame to screen p50", "ms", (m) => m.ages.p50, "lower", (v) => ({ text: "<= 40 ms", met: v <= 40 })),
    row("frame to screen p90", "ms", (m) => m.ages.p90, "lower"),
    row("frame to screen p99", "ms", (m) => m.ages.p99, "lower"),
    row("frames presented", "fps", (m) => m.fps, "higher"),
    row("server CPU per stream", "% of a core", (m) => m.cpuPercent, "lower", (v) => ({ text: "<= 35%", met: v <= 35 }))
  ]
}

export const benchmark: Benchmark = {
  name: "webrtc",
  run: async (config) => {
    const notes: Array<string> = []
    if (!existsSync(chromiumPath)) {
      if (process.env.CI === "true") notes.push(`FAILED: ${chromiumPath} not found (apt-get install -y chromium)`)
      else notes.push(`skipped: ${chromiumPath} not found (apt-get install -y chromium)`)
      return [{ name: "webrtc", title, columns, rows: rows(undefined, undefined), notes }]
    }
    // The test suites' launch flags (they keep a headless run off the network), plus autoplay.
    const browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    const pages = await Page.serve(page)
    const pageUrl = pages.url
    try {
      const alone = await attempt("model alone", notes, () => modelAlone(config))
      const ws = await attempt("websocket", notes, () => measure(browser, pageUrl, "websocket", config))
      const rtc = await attempt("webrtc", notes, () => measure(browser, pageUrl, "webrtc", config))
      notes.push(
        `server CPU with the model alone (a session, no viewer): ${
          Table.formatNumber(alone)
        }% of one core; the rows above include it`,
        `frames: ${rtc?.ages.count ?? 0} presented over WebRTC, ${
          ws?.ages.count ?? 0
        } over the WebSocket in the window; ages read off each frame's clock row (same machine clock)`,
        ...(rtc?.atReceive === undefined || rtc.atDisplay === undefined ? [] : [
          `a WebRTC frame's age p50 (requestVideoFrameCallback's metadata): ${
            Table.formatNumber(rtc.atReceive.p50)
          } ms when its last packet reached Chromium, ${
            Table.formatNumber(rtc.atDisplay.p50)
          } ms at its expected display, ${Table.formatNumber(rtc.ages.p50)} ms when the page read it`
        ]),
        ...(rtc?.receiver === undefined ? [] : [
          `Chromium's share per frame (its inbound-rtp stats): first to last packet ${
            Table.formatNumber(rtc.receiver.assemblyMs)
          } ms, jitter buffer ${Table.formatNumber(rtc.receiver.jitterBufferMs)} ms, decode ${
            Table.formatNumber(rtc.receiver.decodeMs)
          } ms, first packet to decoded ${Table.formatNumber(rtc.receiver.processingMs)} ms`
        ]),
        ...([["WebRTC", rtc], ["WebSocket", ws]] as const).flatMap(([name, m]) =>
          m === undefined ? [] : [Proc.threadsNote(name, m.threads)]
        ),
        "the browser's own CPU is not counted; loopback only, so this is the codec and transport cost, not a network's"
      )
      return [{
        name: "webrtc",
        title,
        columns,
        rows: rows(rtc, ws),
        notes
      }]
    } finally {
      await browser.close()
      await pages.close()
    }
  }
}
