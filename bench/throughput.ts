/**
 * 1. Streaming throughput: one session, ~64 KiB frames, the client reading as fast as it can and the model emitting as
 * fast as the pacer allows (a model that never sleeps). Frames/s and MB/s delivered to the client.
 */
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Proc from "./lib/Proc.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import * as Wire from "./lib/Wire.js"
import type { Stream } from "./servers/Job.js"

export interface Measured {
  readonly fps: number
  readonly mbps: number
  /** Frame indexes the client never saw (the server skipped them for a full socket buffer), % of indexes. */
  readonly skippedPct: number
  readonly serverCpu: number
  /** Server CPU per frame delivered, µs (all its threads). */
  readonly cpuPerFrameUs: number
  /** The benchmark process's own CPU over the window (the reading client), % of a core. */
  readonly clientCpu: number
  readonly threads: ReadonlyArray<readonly [string, number]>
  readonly format: string
}

/** ~64 KiB frames (148x148 RGB = 65,712 bytes): at the model host's transfer threshold, so they move without a copy. */
export const job: Stream = { job: "stream", width: 148, height: 148 }

/** Measures one server's throughput for the stream job (the runtime side in-process or with worker isolation). */
export const measure = (side: Target.Side, config: Config, options: Target.RuntimeOptions = {}): Promise<Measured> =>
  Target.using(side, job, async (target) => {
    const warmupMs = pick(config, 1500, 300)
    const windowMs = pick(config, 6000, 700)
    const connection = await target.open()
    let counting = false
    let frames = 0
    let bytes = 0
    let firstIndex = -1
    let lastIndex = -1
    connection.onFrame = (message) => {
      if (!counting) return
      frames++
      bytes += message.length
      const index = message.readUInt32LE(8)
      if (firstIndex < 0) firstIndex = index
      lastIndex = index
    }
    await Client.sleep(warmupMs)
    const before = Proc.sample(target.pid)
    const threads0 = Proc.threads(target.pid)
    const client0 = process.cpuUsage()
    const t0 = performance.now()
    counting = true
    await Client.sleep(windowMs)
    counting = false
    const seconds = (performance.now() - t0) / 1000
    const after = Proc.sample(target.pid)
    const threads1 = Proc.threads(target.pid)
    const client1 = process.cpuUsage(client0)
    await connection.close()
    const span = lastIndex - firstIndex + 1
    return {
      fps: frames / seconds,
      mbps: bytes / seconds / 1e6,
      skippedPct: span > 0 ? (100 * (span - frames)) / span : 0,
      serverCpu: before && after ? Proc.cpuPercent(before, after) : Number.NaN,
      cpuPerFrameUs: before && after
        ? ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, frames)
        : Number.NaN,
      clientCpu: ((client1.user + client1.system) / 1e6 / seconds) * 100,
      threads: Proc.threadPercents(threads0, threads1, seconds),
      format: target.format
    }
  }, options)

export const benchmark: Benchmark = {
  name: "throughput",
  run: async (config) => {
    const notes: Array<string> = []
    const bare = await attempt("bare", notes, () => measure("bare", config))
    const runtime = await attempt(
      "runtime",
      notes,
      () => measure("runtime", config, { isolation: Target.defaultIsolation })
    )
    const bytes = job.width * job.height * 3 + Wire.headerBytes
    notes.push(
      `frames are ${job.width}x${job.height} raw RGB (${bytes} bytes with header) sent with ?format=${
        runtime?.format ?? "rgb"
      }: ` +
        "the server has no pass-through for pre-encoded bytes, so its RGB path stands in (both servers send header and buffer as two fragments of one message, no copy)"
    )
    if (runtime !== undefined) notes.push(Proc.threadsNote("runtime", runtime.threads))
    notes.push(
      "client CPU near 100% means the reading client (one event loop in the benchmark process) is the limit, not the server"
    )
    notes.push("MB = 10^6 bytes; server CPU is % of one core read from /proc; skipped = frame indexes never delivered")
    return [{
      name: "throughput",
      title: "1. Streaming throughput (one session, ~64 KiB frames, client reads as fast as it can)",
      columns: {
        runtime: "server subprocess, model that never sleeps -> Pacer -> FrameBus -> WebSocket transport",
        baseline: "ws server sending the same header+payload messages while bufferedAmount < 1 MiB"
      },
      rows: [
        Table.ratioTarget({
          metric: "frames/s",
          unit: "1/s",
          runtime: runtime?.fps,
          baseline: bare?.fps,
          better: "higher"
        }, {
          atLeast: 0.9
        }),
        Table.ratioTarget({
          metric: "throughput",
          unit: "MB/s",
          runtime: runtime?.mbps,
          baseline: bare?.mbps,
          better: "higher"
        }, {
          atLeast: 0.9
        }),
        {
          metric: "frames skipped",
          unit: "%",
          runtime: runtime?.skippedPct,
          baseline: bare?.skippedPct,
          better: "lower"
        },
        {
          metric: "server CPU",
          unit: "% core",
          runtime: runtime?.serverCpu,
          baseline: bare?.serverCpu,
          better: "neither"
        },
        {
          metric: "server CPU per frame",
          unit: "µs",
          runtime: runtime?.cpuPerFrameUs,
          baseline: bare?.cpuPerFrameUs,
          better: "lower"
        },
        {
          metric: "client CPU (bench process)",
          unit: "% core",
          runtime: runtime?.clientCpu,
          baseline: bare?.clientCpu,
          better: "neither"
        }
      ],
      notes
    }]
  }
}
