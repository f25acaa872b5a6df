/**
 * 13. Python models: the same model written in Python (`reactor run model.py`: a Python process, frames over a Unix
 * socket) and in TypeScript in a worker thread (what `reactor run model.ts` does), at 640x360 and 1280x720, 30 fps,
 * measured in this process on the reactor's own frame stream (no transport: the boundary's cost alone).
 * - CPU per frame: this process's CPU (every thread, the worker included) plus the Python process's, over the frames
 *   delivered.
 * - Delivery: each frame's age when it reaches the stream's subscriber, from the wall-clock stamp the model wrote in
 *   its first bytes when it made it.
 * - Frames dropped for the subscriber, and the delivered rate.
 * - Command round trip: a command submitted until its ack, 100 in a row, to the Python method or the TS handler.
 */
import { Effect, Logger, LogLevel, type Scope } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { resolve } from "node:path"
import * as PythonReactor from "../src/host/python/PythonReactor.js"
import * as WorkerReactor from "../src/host/WorkerReactor.js"
import * as EndReason from "../src/protocol/EndReason.js"
import type * as Reactor from "../src/session/Reactor.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import type * as Table from "./lib/Table.js"

interface Measured {
  readonly cpuPerFrameUs: number
  readonly fps: number
  readonly age: Stats.Summary
  readonly dropped: number
  readonly trip: Stats.Summary
}

const ticks = 100

/** CPU seconds of this process's children (the Python model processes), from /proc. */
const childrenCpu = (): number => {
  let total = 0
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(fields[1]) !== process.pid) continue
      total += (Number(fields[11]) + Number(fields[12])) / ticks
    } catch {
      // gone meanwhile
    }
  }
  return total
}

/** CPU seconds so far of this process (every thread) and its children. */
export const cpuNow = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6 + childrenCpu()
}

const measure = (
  make: Effect.Effect<Reactor.Service, unknown, Scope.Scope>,
  seconds: number,
  commands: number
): Promise<Measured> =>
  Effect.gen(function*() {
    const reactor = yield* make
    const session = yield* reactor.start()
    const frames = yield* session.frames(256)
    // Warm-up: the first frames (and a Python process's first allocations) are not counted.
    for (let i = 0; i < 15; i++) yield* frames.take
    yield* frames.takeAll
    const droppedBefore = (yield* session.stats).droppedFrames
    const ages: Array<number> = []
    const cpu0 = cpuNow()
    const t0 = performance.now()
    while (performance.now() - t0 < seconds * 1000) {
      const batch = yield* frames.takeBatch
      const now = Date.now()
      for (const out of batch) {
        const data = out.frame.data
        ages.push(now - new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, true))
      }
    }
    const elapsed = (performance.now() - t0) / 1000
    const cpu = cpuNow() - cpu0
    const dropped = (yield* session.stats).droppedFrames - droppedBefore
    const trips: Array<number> = []
    for (let i = 0; i < commands; i++) {
      const sent = performance.now()
      yield* Effect.orDie(session.submit({ type: "set_value", data: { v: i } }))
      trips.push(performance.now() - sent)
    }
    yield* session.stop(EndReason.Stopped({ by: "bench" }))
    return {
      cpuPerFrameUs: (cpu / ages.length) * 1e6,
      fps: ages.length / elapsed,
      age: Stats.summarize(ages),
      dropped,
      trip: Stats.summarize(trips)
    }
  }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error), Effect.runPromise)

const size = async (config: Config, width: number, height: number): Promise<Table.Table> => {
  const seconds = pick(config, 10, 1)
  const commands = pick(config, 100, 5)
  const value = { width, height, fps: 30 }
  const notes: Array<string> = []
  config.log(`  python ${width}x${height}`)
  const python = await attempt("python", notes, () =>
    measure(
      PythonReactor.make({
        module: resolve("bench/servers/python_bench.py"),
        config: { source: "bench", value }
      }),
      seconds,
      commands
    ))
  config.log(`  ts worker ${width}x${height}`)
  const ts = await attempt("ts worker", notes, () =>
    measure(
      WorkerReactor.make({ module: resolve("bench/servers/TsBench.ts"), config: { source: "bench", value } }),
      seconds,
      commands
    ))
  const row = (metric: string, unit: string, f: (m: Measured) => number, better: Table.Better): Table.Row => ({
    metric,
    unit,
    runtime: python && f(python),
    baseline: ts && f(ts),
    better
  })
  const cpu = row("CPU per frame (server + model)", "µs", (m) => m.cpuPerFrameUs, "lower")
  const dropped = row("frames dropped", "frames", (m) => m.dropped, "lower")
  notes.push(`${seconds} s per side after a warm-up; ${commands} commands in a row; raw RGB, a fresh buffer per frame`)
  return {
    name: `python-${width}x${height}`,
    title: `13${
      width === 640 ? "a" : "b"
    }. Python models at ${width}x${height}, 30 fps: a Python process against a TS worker`,
    columns: {
      runtime: "the model in Python (reactor run model.py): frames over a Unix socket",
      baseline: "the same model in TypeScript in a worker thread (reactor run model.ts)"
    },
    labels: { runtime: "python", baseline: "ts worker" },
    rows: [
      {
        ...cpu,
        target: cpu.runtime !== undefined && cpu.baseline !== undefined
          ? { text: "<= 1.5x the TS worker's", met: cpu.runtime <= 1.5 * cpu.baseline }
          : undefined
      },
      row("frames delivered", "fps", (m) => m.fps, "higher"),
      row("frame age at delivery p50", "ms", (m) => m.age.p50, "lower"),
      row("frame age at delivery p99", "ms", (m) => m.age.p99, "lower"),
      {
        ...dropped,
        target: width === 1280 && dropped.runtime !== undefined
          ? { text: "none at 1280x720", met: dropped.runtime === 0 }
          : undefined
      },
      row("command round trip p50", "ms", (m) => m.trip.p50, "lower"),
      row("command round trip p99", "ms", (m) => m.trip.p99, "lower")
    ],
    notes
  }
}

export const benchmark: Benchmark = {
  name: "python",
  run: async (config) => [await size(config, 640, 360), await size(config, 1280, 720)]
}
