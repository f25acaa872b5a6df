/**
 * 10. Input frames: how long a client's frame takes to reach the model. A client sends 640x360 RGB input frames as
 * WebSocket binary messages (docs/PROTOCOL.md, input frames), one at a time, and waits for the model's `seen`
 * message about that frame (`ctx.input` in the model, `ctx.send` back): the runtime with the model in a worker thread
 * (the default) and in the server's thread, against a bare `ws` server that answers each binary message itself.
 */
import * as FrameHeader from "../src/protocol/FrameHeader.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import type * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import { type Job, randomRgb } from "./servers/Job.js"

const job: Job = { job: "mirror" }
const width = 640
const height = 360

/** Round trips of `count` input frames, each sent once the previous one was seen; after `warmup` unmeasured ones. */
const measure = (side: Target.Side, config: Config, options: Target.RuntimeOptions = {}) =>
  Target.using(side, job, async (target) => {
    const connection = await target.open()
    const pixels = { width, height, data: randomRgb(width, height) }
    const waiting = new Map<number, () => void>()
    connection.ws.on("message", (data: Buffer, isBinary) => {
      if (isBinary) return
      const envelope = JSON.parse(data.toString()) as { data?: { type?: string; capturedAt?: number } }
      if (envelope.data?.type !== "seen" || envelope.data.capturedAt === undefined) return
      waiting.get(envelope.data.capturedAt)?.()
      waiting.delete(envelope.data.capturedAt)
    })
    const once = (marker: number, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`input frame ${marker} was not seen within ${timeoutMs} ms`)),
          timeoutMs
        )
        waiting.set(marker, () => (clearTimeout(timer), resolve()))
        // The capture time is the frame's marker: the model answers with it.
        connection.ws.send(FrameHeader.encodeInput(1, pixels, marker))
      })
    const warmup = pick(config, 30, 3)
    const count = pick(config, 300, 10)
    const samples: Array<number> = []
    for (let i = 1; i <= warmup + count; i++) {
      const t0 = performance.now()
      await once(i)
      if (i > warmup) samples.push(performance.now() - t0)
    }
    await connection.close()
    return Stats.summarize(samples)
  }, options)

const latency = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const worker = await attempt("runtime (worker)", notes, () => measure("runtime", config, { isolation: "worker" }))
  const local = await attempt("runtime (in-process)", notes, () => measure("runtime", config, { isolation: "none" }))
  const bare = await attempt("bare", notes, () => measure("bare", config))
  notes.push(
    `${width}x${height} raw RGB input frames (${width * height * 3} bytes each), one in flight at a time; latency = ` +
      "from the client's send to the model's `seen` message about that frame (so both directions of the socket)"
  )
  notes.push(
    "the bare server answers each binary message from its socket handler; the runtime checks the frame, " +
      "hands it to the session (in a worker: moved on a MessagePort, no copy) and the model's reader answers"
  )
  const row = (metric: string, runtime: Stats.Summary | undefined, f: (s: Stats.Summary) => number) => ({
    metric,
    unit: "ms",
    runtime: runtime && f(runtime),
    baseline: bare && f(bare),
    better: "lower" as const
  })
  return {
    name: "input-latency",
    title: "10. Input frames: client to model and back (640x360 RGB over the WebSocket)",
    columns: {
      runtime: "reactor's server, `ctx.input` in the model (worker thread: the default; in-process rows say so)",
      baseline: "bare `ws` server answering each binary message itself"
    },
    rows: [
      row("worker p50", worker, (s) => s.p50),
      row("worker p99", worker, (s) => s.p99),
      row("in-process p50", local, (s) => s.p50),
      row("in-process p99", local, (s) => s.p99)
    ],
    notes
  }
}

export const benchmark: Benchmark = { name: "inputs", run: async (config) => [await latency(config)] }
