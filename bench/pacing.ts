/**
 * 4. Pacing: a model emitting blocks of 8 frames at 30 fps; the interval between frames as the client sees them.
 * Also measured in-process through `Session.frames`, without any transport, to tell the pacer from the network path.
 */
import { Effect, Logger, LogLevel } from "effect"
import * as Model from "../src/model/Model.js"
import * as EndReason from "../src/protocol/EndReason.js"
import * as Session from "../src/session/Session.js"
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import type { Generate } from "./servers/Job.js"
import * as Models from "./servers/Models.js"

const job: Generate = { job: "generate", fps: 30, block: 8, width: 64, height: 64, stateful: false }
const periodMs = 1000 / job.fps

interface Measured {
  readonly intervals: Stats.Summary
  /** Intervals under half a period: frames arriving in a burst. */
  readonly bursts: number
  /** Intervals over 1.5 periods: a frame arriving late. */
  readonly gaps: number
}

const analyse = (times: ReadonlyArray<number>): Measured => {
  const intervals = Stats.intervals(times)
  return {
    intervals: Stats.summarize(intervals),
    bursts: intervals.filter((x) => x < periodMs / 2).length,
    gaps: intervals.filter((x) => x > periodMs * 1.5).length
  }
}

const windows = (config: Config) => ({ warmupMs: pick(config, 1500, 600), windowMs: pick(config, 10_000, 1200) })

const overSocket = (side: Target.Side, config: Config): Promise<Measured> =>
  Target.using(side, job, async (target) => {
    const { warmupMs, windowMs } = windows(config)
    const connection = await target.open()
    const times: Array<number> = []
    let counting = false
    connection.onFrame = (_message, at) => {
      if (counting) times.push(at)
    }
    await Client.sleep(warmupMs)
    counting = true
    await Client.sleep(windowMs)
    counting = false
    await connection.close()
    return analyse(times)
  }, { isolation: Target.defaultIsolation })

/** The same model run in this process; frames taken from `Session.frames` as soon as they are released. */
const inProcess = (config: Config): Promise<Measured> => {
  const { warmupMs, windowMs } = windows(config)
  return Effect.gen(function*() {
    const model = yield* Model.Model
    const session = yield* Session.make(model)
    const frames = yield* session.frames(8)
    const times: Array<number> = []
    const start = performance.now()
    while (performance.now() < start + warmupMs + windowMs) {
      yield* frames.take.pipe(Effect.timeout(2000))
      const now = performance.now()
      if (now >= start + warmupMs) times.push(now)
    }
    yield* session.stop(EndReason.Stopped({ by: "bench" }))
    return analyse(times)
  }).pipe(
    Effect.scoped,
    Effect.provide(Models.layer(job)),
    Logger.withMinimumLogLevel(LogLevel.Warning),
    Effect.runPromise
  )
}

export const benchmark: Benchmark = {
  name: "pacing",
  run: async (config) => {
    const notes: Array<string> = []
    const bare = await attempt("bare", notes, () => overSocket("bare", config))
    const runtime = await attempt("runtime", notes, () => overSocket("runtime", config))
    const local = await attempt("in-process", notes, () => inProcess(config))
    const row = (metric: string, f: (m: Measured) => number, from = runtime): Omit<Table.Row, "target"> => ({
      metric,
      unit: "ms",
      runtime: from && f(from),
      baseline: bare && f(bare),
      better: "lower"
    })
    notes.push(
      `model emits a block of ${job.block} ${job.width}x${job.height} frames every ${
        (periodMs * job.block).toFixed(1)
      } ms ` +
        `(absolute schedule); ideal interval ${periodMs.toFixed(2)} ms; ` +
        `${runtime?.intervals.count ?? bare?.intervals.count ?? 0} intervals over ${
          windows(config).windowMs / 1000
        } s after a warm-up`
    )
    notes.push(
      `burst = an interval under ${(periodMs / 2).toFixed(1)} ms; gap = over ${(periodMs * 1.5).toFixed(1)} ms`
    )
    notes.push("in-process rows: the same model and Session, frames taken from Session.frames (no server, no socket)")
    return [{
      name: "pacing",
      title: "4. Pacing (blocks of 8 frames at 30 fps, client-side interval between frames)",
      columns: {
        runtime: "server subprocess, Pacer spacing each block's frames at the measured rate, WebSocket",
        baseline: "ws server with a hand-written absolute-schedule release at the known rate (33.3 ms)"
      },
      rows: [
        row("interval mean", (m) => m.intervals.mean),
        Table.valueTarget(row("interval std dev", (m) => m.intervals.std), { atMost: 2 }),
        row("interval p99", (m) => m.intervals.p99),
        row("interval max", (m) => m.intervals.max),
        Table.valueTarget({ ...row("bursts", (m) => m.bursts), unit: "count" }, { atMost: 0, text: "0 (no bursts)" }),
        { ...row("gaps", (m) => m.gaps), unit: "count" },
        row("in-process: interval mean", (m) => m.intervals.mean, local),
        Table.valueTarget(row("in-process: interval std dev", (m) => m.intervals.std, local), { atMost: 2 }),
        row("in-process: interval p99", (m) => m.intervals.p99, local),
        { ...row("in-process: bursts", (m) => m.bursts, local), unit: "count" }
      ],
      notes
    }]
  }
}
