/**
 * 11. Webcam to model: how old a browser's camera frame is when the model reads it with `ctx.input`. The page paints
 * a 640x360 picture at 30 fps with the wall clock drawn into its pixels at capture time (ClockPixels.ts), and
 * publishes it as a camera would: over WebRTC as the SDK's `WebcamStream` does (a `sendonly` track from
 * `canvas.captureStream`, VP8 by Chromium, decoded by libwebrtc in the server), against the WebSocket transport's
 * binary input frames (raw RGB read off the canvas). The model, in a worker thread as `reactor run` serves it, reads
 * the clock back off each frame and answers with its age (same machine clock), so the figure is capture to model,
 * the browser's encoding and the server's decoding included.
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
import type { CamClock } from "./servers/Job.js"

const width = 640
const height = 360
const fps = 30
const job: CamClock = { job: "camclock", drawnWidth: width }

/** The camera page: paints the clock picture, publishes it over one transport, collects the model's answers. */
const page = `<!doctype html><meta charset="utf-8"><canvas id="c" width="${width}" height="${height}"></canvas>
<script>
${ClockPixels.drawSource}
const params = new URLSearchParams(location.search)
const server = params.get("server")
const transport = params.get("transport")
window.bench = { ages: [], sizes: {}, sent: 0, skipped: 0, first: null, last: null, ready: false, error: null }
const canvas = document.getElementById("c")
const ctx = canvas.getContext("2d", { willReadFrequently: transport === "websocket" })
let tick = 0
const paint = () => drawClock(ctx, ${width}, ${height}, tick++)
const answer = (text) => {
  const data = JSON.parse(text).data
  if (data === undefined || data.type !== "input_age" || data.age === null) return
  window.bench.ages.push(data.age)
  if (window.bench.first === null) window.bench.first = data.index
  window.bench.last = data.index
  const size = data.width + "x" + data.height
  window.bench.sizes[size] = (window.bench.sizes[size] || 0) + 1
}
const json = { "content-type": "application/json" }
async function start() {
  const started = await (await fetch(server + "/start_session", { method: "POST", headers: json,
    body: JSON.stringify({ supported_transports: [{ protocol: transport }] }) })).json()
  const id = started.session_id
  paint()
  if (transport === "webrtc") {
    // Each painted picture is one camera frame: captured on request, not sampled by a rate limiter (a 30 fps
    // capture of a canvas painted every 33 ms drops the paints that land a little early).
    const camera = canvas.captureStream(0).getVideoTracks()[0]
    const pc = new RTCPeerConnection({ iceServers: [] })
    window.bench.senderStats = async () => {
      for (const report of (await pc.getStats()).values()) {
        if (report.type === "outbound-rtp" && report.kind === "video") return report
      }
      return null
    }
    const channel = pc.createDataChannel("data")
    const video = pc.addTransceiver("video", { direction: "recvonly" })
    const cam = pc.addTransceiver(camera, { direction: "sendonly" })
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve()
      pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve()
      setTimeout(resolve, 3000)
    })
    const base = server + "/sessions/" + id + "/transport/webrtc/sdp_params"
    await fetch(base, { method: "POST", headers: json, body: JSON.stringify({ sdp_offer: pc.localDescription.sdp,
      track_mapping: [{ name: "main_video", kind: "video", direction: "recvonly", mid: video.mid },
        { name: "cam", kind: "video", direction: "sendonly", mid: cam.mid }] }) })
    const answered = await (await fetch(base)).json()
    await pc.setRemoteDescription({ type: "answer", sdp: answered.sdp_answer })
    channel.onmessage = (event) => answer(event.data)
    channel.onopen = () => {
      window.bench.ready = true
      setInterval(() => (paint(), camera.requestFrame(), window.bench.sent++), ${1000 / fps})
    }
  } else {
    const tracks = (started.capabilities && started.capabilities.tracks) || []
    const track = Math.max(0, tracks.findIndex((t) => t.name === "cam"))
    const ws = new WebSocket(server.replace("http", "ws") + "/sessions/" + id + "/transport/websocket")
    ws.binaryType = "arraybuffer"
    ws.onmessage = (event) => typeof event.data === "string" && answer(event.data)
    ws.onopen = () => {
      window.bench.ready = true
      let index = 0
      setInterval(() => {
        paint()
        const capturedAt = Date.now()
        // A client that cannot keep up drops a frame rather than queue it (the socket still holds the last one).
        if (ws.bufferedAmount > 0) return void window.bench.skipped++
        const rgba = ctx.getImageData(0, 0, ${width}, ${height}).data
        const message = new Uint8Array(24 + ${width * height * 3})
        const view = new DataView(message.buffer)
        view.setUint8(0, 0x52); view.setUint8(1, 0x46); view.setUint8(2, 1); view.setUint8(3, 0)
        view.setUint16(4, track, true); view.setUint32(8, index++, true)
        view.setUint16(12, ${width}, true); view.setUint16(14, ${height}, true); view.setFloat64(16, capturedAt, true)
        for (let p = 0, s = 0, d = 24; p < ${width * height}; p++, s += 4, d += 3) {
          message[d] = rgba[s]; message[d + 1] = rgba[s + 1]; message[d + 2] = rgba[s + 2]
        }
        ws.send(message)
        window.bench.sent++
      }, ${1000 / fps})
    }
  }
}
start().catch((error) => (window.bench.error = String(error)))
</script>`

interface Measured {
  readonly ages: Stats.Summary
  readonly fps: number
  readonly cpuPercent: number
  /** The server's busiest threads over the window (the model's worker thread is one of the `node` ones). */
  readonly threads: Array<readonly [string, number]>
  /** Frames that reached the session (their track indexes), and frames the page painted (and sent), per second. */
  readonly arrivedFps: number
  readonly paintedFps: number
  /** Chromium's encoder over the window (WebRTC only), from its outbound-rtp stats. */
  readonly chromium?: {
    readonly encodedFps: number
    readonly sentFps: number
    readonly limitation: string
    readonly kbps: number
    readonly encodeMs: number
  } | undefined
  /** The input sizes the model saw, with their counts (the browser's encoder may scale the camera down). */
  readonly sizes: Record<string, number>
}

/** One transport: a fresh server (model in a worker), one camera tab, the warm-up, then the window. */
const measure = async (
  browser: Page.Browser,
  pageUrl: string,
  transport: "webrtc" | "websocket",
  config: Config
): Promise<Measured> => {
  const child = await Child.start("runtime.ts", job, { BENCH_ISOLATION: "worker" })
  const tab = await browser.newPage()
  try {
    const { warmupMs, windowMs } = Page.windows(config)
    await tab.goto(`${pageUrl}/?transport=${transport}&server=http://127.0.0.1:${child.port}`)
    await tab.waitForFunction(
      () => (window as any).bench.ages.length > 5 || (window as any).bench.error !== null,
      null,
      { timeout: 20_000 }
    )
    const error = await tab.evaluate(() => (window as any).bench.error as string | null)
    if (error !== null) throw new Error(`the page failed: ${error}`)
    await Page.sleep(warmupMs)
    await tab.evaluate(() => {
      ;(window as any).bench.ages = []
      ;(window as any).bench.sizes = {}
      ;(window as any).bench.first = null
      ;(window as any).bench.sent = 0
    })
    const sender = () =>
      tab.evaluate(async () => {
        const stats = (window as any).bench.senderStats
        return stats === undefined ? null : (await stats()) as Record<string, any> | null
      })
    const sender0 = await sender()
    const cpu0 = Proc.sample(child.pid)
    const threads0 = Proc.threads(child.pid)
    const t0 = performance.now()
    await Page.sleep(windowMs)
    const cpu1 = Proc.sample(child.pid)
    const threads1 = Proc.threads(child.pid)
    const seconds = (performance.now() - t0) / 1000
    const { ages, first, last, sent, sizes } = await tab.evaluate(() => ({
      ages: (window as any).bench.ages as Array<number>,
      sizes: (window as any).bench.sizes as Record<string, number>,
      first: (window as any).bench.first as number,
      last: (window as any).bench.last as number,
      sent: (window as any).bench.sent as number
    }))
    const sender1 = await sender()
    if (ages.length === 0) throw new Error("the model read no frame in the window")
    return {
      ages: Stats.summarize(ages),
      fps: ages.length / seconds,
      arrivedFps: (last - first + 1) / seconds,
      paintedFps: sent / seconds,
      chromium: sender0 === null || sender1 === null ? undefined : {
        encodedFps: (sender1.framesEncoded - sender0.framesEncoded) / seconds,
        sentFps: (sender1.framesSent - sender0.framesSent) / seconds,
        limitation: sender1.qualityLimitationReason,
        kbps: ((sender1.bytesSent - sender0.bytesSent) * 8) / seconds / 1000,
        encodeMs: (1000 * (sender1.totalEncodeTime - sender0.totalEncodeTime)) /
          (sender1.framesEncoded - sender0.framesEncoded)
      },
      cpuPercent: cpu0 !== undefined && cpu1 !== undefined ? Proc.cpuPercent(cpu0, cpu1) : Number.NaN,
      threads: Proc.threadPercents(threads0, threads1, seconds),
      sizes
    }
  } finally {
    await tab.close()
    await child.stop()
  }
}

const title =
  `11. Webcam to model: browser capture to \`ctx.input\` (${width}x${height}, ${fps} fps, headless Chromium)`
const columns = {
  runtime: "the WebRTC transport: a sendonly video track as the SDK's WebcamStream publishes it (VP8 by Chromium)",
  baseline: "the WebSocket transport: binary input frames of raw RGB read off the canvas (same runtime, same model)"
}

/** The table's rows from what was measured (a side that failed or did not run has no figures). */
const rows = (rtc: Measured | undefined, ws: Measured | undefined): Array<Table.Row> => {
  const row = (metric: string, unit: string, of: (m: Measured) => number, better: Table.Better): Table.Row => ({
    metric,
    unit,
    runtime: rtc === undefined ? undefined : of(rtc),
    baseline: ws === undefined ? undefined : of(ws),
    better
  })
  return [
    row("capture to model p50", "ms", (m) => m.ages.p50, "lower"),
    row("capture to model p90", "ms", (m) => m.ages.p90, "lower"),
    row("capture to model p99", "ms", (m) => m.ages.p99, "lower"),
    row("frames the page painted", "fps", (m) => m.paintedFps, "higher"),
    row("frames that reached the session", "fps", (m) => m.arrivedFps, "higher"),
    row("frames the model read", "fps", (m) => m.fps, "higher"),
    row("server CPU", "% of a core", (m) => m.cpuPercent, "lower")
  ]
}

const sizes = (m: Measured | undefined) =>
  m === undefined ? "none" : Object.entries(m.sizes).map(([size, count]) => `${size} (${count})`).join(", ")

export const benchmark: Benchmark = {
  name: "webcam",
  run: async (config) => {
    const notes: Array<string> = []
    if (!existsSync(Chromium.path)) {
      notes.push(`${process.env.CI === "true" ? "FAILED" : "skipped"}: ${Chromium.missing}`)
      return [{ name: "webcam", title, columns, rows: rows(undefined, undefined), notes }]
    }
    const browser = await Chromium.launch()
    const served = await Page.serve(page)
    try {
      const ws = await attempt("websocket", notes, () => measure(browser, served.url, "websocket", config))
      const rtc = await attempt("webrtc", notes, () => measure(browser, served.url, "webrtc", config))
      notes.push(
        `input sizes the model read: WebRTC ${sizes(rtc)}; WebSocket ${sizes(ws)}`,
        ...(rtc?.chromium === undefined ? [] : [
          `Chromium's encoder (its outbound-rtp stats): ${Table.formatNumber(rtc.chromium.encodedFps)} fps encoded, ${
            Table.formatNumber(rtc.chromium.sentFps)
          } sent, ${Table.formatNumber(rtc.chromium.encodeMs)} ms per frame, ${
            Table.formatNumber(rtc.chromium.kbps)
          } kbit/s, quality limited by: ${rtc.chromium.limitation}`
        ]),
        ...([["WebRTC", rtc], ["WebSocket", ws]] as const).flatMap(([name, m]) =>
          m === undefined ? [] : [Proc.threadsNote(name, m.threads)]
        ),
        "ages read off each input frame's clock row in the model (same machine clock); the model runs in a worker " +
          "thread, so the figure includes the frame's hand-off to it",
        "the WebSocket page skips a frame while the socket still holds the previous one, as a client should"
      )
      return [{ name: "webcam", title, columns, rows: rows(rtc, ws), notes }]
    } finally {
      await browser.close()
      await served.close()
    }
  }
}
