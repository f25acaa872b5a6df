/**
 * 9b. WebRTC video codecs: one 30 fps stream to headless Chromium over the WebRTC transport, the server configured
 * for each codec @roamhq/wrtc encodes (`REACTOR_WEBRTC_CODECS`: VP8, VP9, AV1; it has no H264 encoder) at 640x360 and
 * 1280x720, with the congestion-control bounds at their defaults (500 / 4000 / 10000 kbit/s). Measured as bench 9
 * measures WebRTC (its page and its `measure`): frame emission to screen read off each frame's clock pixels, and the
 * server process's CPU (the encoder's threads included). VP8, the default, is the baseline column of each table; the
 * codec Chromium actually decoded is read from its `inbound-rtp` stats and printed in the notes.
 */
import { existsSync } from "node:fs"
import * as Chromium from "../test/web/Chromium.js"
import { attempt, type Benchmark, type Config } from "./lib/Harness.js"
import * as Page from "./lib/Page.js"
import * as Proc from "./lib/Proc.js"
import * as Table from "./lib/Table.js"
import type { Clock } from "./servers/Job.js"
import { measure, type Measured, modelAlone, page } from "./webrtc.js"

const sizes = [{ width: 640, height: 360 }, { width: 1280, height: 720 }] as const
const codecs = ["VP9", "AV1"] as const
const baseline = "VP8"
/** A 1280x720 server under a loaded machine (load 18 here) took over the harness's default 30 s to listen. */
const listenTimeoutMs = 120_000

const rows = (by: ReadonlyMap<string, Measured | undefined>): Array<Table.Row> => {
  const vp8 = by.get(baseline)
  return codecs.flatMap((codec) => {
    const m = by.get(codec)
    const row = (metric: string, unit: string, of: (m: Measured) => number, better: Table.Better): Table.Row => ({
      metric: `${codec}: ${metric}`,
      unit,
      runtime: m === undefined ? undefined : of(m),
      baseline: vp8 === undefined ? undefined : of(vp8),
      better
    })
    return [
      row("frame to screen p50", "ms", (m) => m.ages.p50, "lower"),
      row("frame to screen p90", "ms", (m) => m.ages.p90, "lower"),
      row("frames presented", "fps", (m) => m.fps, "higher"),
      row("server CPU per stream", "% of a core", (m) => m.cpuPercent, "lower")
    ]
  })
}

const tableOf = (
  size: typeof sizes[number],
  by: ReadonlyMap<string, Measured | undefined>,
  alone: number | undefined,
  notes: Array<string>
): Table.Table => ({
  name: `codecs-${size.width}x${size.height}`,
  title: `9b. WebRTC video codecs at ${size.width}x${size.height}, 30 fps (headless Chromium)`,
  labels: { runtime: "codec", baseline: "VP8" },
  columns: {
    runtime: `the codec named in the row (REACTOR_WEBRTC_CODECS=<codec>), @roamhq/wrtc's libwebrtc encoder`,
    baseline: "VP8, the default, same run, same model, same page"
  },
  rows: rows(by),
  notes: [
    ...notes,
    `server CPU with the model alone (a session, no viewer): ${
      Table.formatNumber(alone)
    }% of one core; the rows include it`,
    `codec Chromium decoded: ${
      [baseline, ...codecs].map((codec) => `${codec} -> ${by.get(codec)?.codec ?? "?"}`).join(", ")
    }`,
    ...[baseline, ...codecs].flatMap((codec) => {
      const m = by.get(codec)
      return m === undefined ? [] : [Proc.threadsNote(codec, m.threads)]
    }),
    "H264 is not measured: @roamhq/wrtc 0.10 has no H264 encoder (a preference naming it falls through to the next codec)"
  ]
})

export const benchmark: Benchmark = {
  name: "codecs",
  run: async (config: Config) => {
    if (!existsSync(Chromium.path)) {
      const why = `${process.env.CI === "true" ? "FAILED" : "skipped"}: ${Chromium.path} not found`
      return sizes.map((size) => tableOf(size, new Map(), undefined, [why]))
    }
    const browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    const pages = await Page.serve(page)
    try {
      const tables: Array<Table.Table> = []
      for (const size of sizes) {
        const notes: Array<string> = []
        const job: Clock = { job: "clock", fps: 30, ...size }
        const alone = await attempt(
          `model alone ${size.width}x${size.height}`,
          notes,
          () => modelAlone(config, job, listenTimeoutMs)
        )
        const by = new Map<string, Measured | undefined>()
        for (const codec of [baseline, ...codecs]) {
          config.log(`codecs: ${codec} at ${size.width}x${size.height}`)
          by.set(
            codec,
            await attempt(
              `${codec} ${size.width}x${size.height}`,
              notes,
              () =>
                measure(browser, pages.url, "webrtc", config, {
                  job,
                  env: { REACTOR_WEBRTC_CODECS: codec },
                  listenTimeoutMs
                })
            )
          )
        }
        tables.push(tableOf(size, by, alone, notes))
      }
      return tables
    } finally {
      await browser.close()
      await pages.close()
    }
  }
}
