/**
 * 9c. WebRTC sender settings: bench 9's page and measurement (frame emission to screen in headless Chromium, read off
 * each frame's clock pixels; the page does what Reactor's SDK does and sets nothing on its receiver), the server
 * started once with a baseline environment and once with each variant's, back to back, in rounds, so a loaded machine
 * weighs on both sides alike. Each row is the median over the rounds of a variant against the median of the baselines
 * measured just before it.
 *
 * `BENCH_WEBRTC_VARIANTS` (JSON `{"name": {"REACTOR_WEBRTC_...": "value"}}`) replaces the variants, `BENCH_WEBRTC_BASELINE`
 * (JSON env) the baseline, `BENCH_WEBRTC_ROUNDS` the rounds (default 2).
 */
import { existsSync } from "node:fs"
import * as Chromium from "../test/web/Chromium.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Page from "./lib/Page.js"
import * as Table from "./lib/Table.js"
import { measure, type Measured, page } from "./webrtc.js"

type Env = Record<string, string>

/** The settings before issue 19: no field trials, no playout delay, no encoder parameters. */
const before: Env = {
  REACTOR_WEBRTC_PLAYOUT_DELAY: "off",
  REACTOR_WEBRTC_PACER_BURST_MS: "0",
  REACTOR_WEBRTC_FIELD_TRIALS: ""
}

/** The defaults now, and each kept setting alone, against none. */
const defaultVariants: Record<string, Env> = {
  "defaults (playout delay 0, burst 40 ms)": {
    REACTOR_WEBRTC_PLAYOUT_DELAY: "0",
    REACTOR_WEBRTC_PACER_BURST_MS: "40"
  },
  "playout delay 0 alone": { REACTOR_WEBRTC_PLAYOUT_DELAY: "0" },
  "pacer burst 40 ms alone": { REACTOR_WEBRTC_PACER_BURST_MS: "40" }
}

const parse = <A>(name: string, fallback: A): A => {
  const text = process.env[name]
  if (text === undefined || text === "") return fallback
  return JSON.parse(text) as A
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const title = "9c. WebRTC sender settings (640x360, 30 fps, headless Chromium)"

export const benchmark: Benchmark = {
  name: "webrtc-tuning",
  run: async (config: Config) => {
    const baselineEnv = parse<Env>("BENCH_WEBRTC_BASELINE", before)
    const variants = parse<Record<string, Env>>("BENCH_WEBRTC_VARIANTS", defaultVariants)
    const rounds = pick(config, Number(process.env.BENCH_WEBRTC_ROUNDS ?? 2), 1)
    const columns = {
      runtime: "the variant named in the row (its server environment)",
      baseline: `the baseline measured just before it: ${JSON.stringify(baselineEnv)}`
    }
    const notes: Array<string> = []
    // a smoke run checks the first variant only
    const chosen = Object.entries(variants).slice(0, config.smoke ? 1 : undefined)
    const by = new Map<string, { variant: Array<Measured>; baseline: Array<Measured> }>(
      chosen.map(([name]) => [name, { variant: [], baseline: [] }])
    )
    if (!existsSync(Chromium.path)) {
      notes.push(`${process.env.CI === "true" ? "FAILED" : "skipped"}: ${Chromium.path} not found`)
      return [{ name: "webrtc-tuning", title, columns, rows: rowsOf(by), notes }]
    }
    const browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    const pages = await Page.serve(page)
    try {
      for (let round = 0; round < rounds; round++) {
        for (const [name, env] of chosen) {
          const entry = by.get(name)!
          const base = await attempt(
            `${name} baseline`,
            notes,
            () => measure(browser, pages.url, "webrtc", config, { env: baselineEnv })
          )
          const variant = await attempt(
            name,
            notes,
            () => measure(browser, pages.url, "webrtc", config, { env: { ...baselineEnv, ...env } })
          )
          const brief = (m: Measured | undefined) =>
            m === undefined ?
              "failed" :
              `p50 ${Table.formatNumber(m.ages.p50)} ms (receive ${
                Table.formatNumber(m.atReceive?.p50)
              }, jitter buffer ${Table.formatNumber(m.receiver?.jitterBufferMs)}, assembly ${
                Table.formatNumber(m.receiver?.assemblyMs)
              }, ${Table.formatNumber(m.fps)} fps, CPU ${Table.formatNumber(m.cpuPercent)}%)`
          notes.push(`round ${round + 1}, ${name}: ${brief(variant)}; baseline ${brief(base)}`)
          config.log(notes[notes.length - 1]!)
          if (base !== undefined) entry.baseline.push(base)
          if (variant !== undefined) entry.variant.push(variant)
        }
      }
    } finally {
      await browser.close()
      await pages.close()
    }
    return [{ name: "webrtc-tuning", title, columns, rows: rowsOf(by), notes }]
  }
}

/** Per variant: the median of its measurements against the median of the baselines measured before them. */
const rowsOf = (by: ReadonlyMap<string, { variant: Array<Measured>; baseline: Array<Measured> }>) =>
  [...by].flatMap(([name, { baseline, variant }]): Array<Table.Row> => {
    const row = (metric: string, unit: string, of: (m: Measured) => number, better: Table.Better): Table.Row => ({
      metric: `${name}: ${metric}`,
      unit,
      runtime: variant.length === 0 ? undefined : median(variant.map(of)),
      baseline: baseline.length === 0 ? undefined : median(baseline.map(of)),
      better
    })
    return [
      row("frame to screen p50", "ms", (m) => m.ages.p50, "lower"),
      row("frame to screen p90", "ms", (m) => m.ages.p90, "lower"),
      row("last packet received p50", "ms", (m) => m.atReceive?.p50 ?? Number.NaN, "lower"),
      row("jitter buffer per frame", "ms", (m) => m.receiver?.jitterBufferMs ?? Number.NaN, "lower"),
      row("frames presented", "fps", (m) => m.fps, "higher"),
      row("server CPU per stream", "% of a core", (m) => m.cpuPercent, "lower")
    ]
  })
