/**
 * 12. A trained network, live: example 06 (webcam background replacement with MediaPipe's selfie segmentation
 * network, onnxruntime-node in the model's worker thread) end to end over the WebSocket. A client sends the drawn
 * person picture (test/fixtures/person.ts) as a 640x360 RGB input frame, waits for the transformed frame, and sends
 * the next (one in flight per session): camera frame to transformed frame p50/p99, frames/s, and the server
 * process's CPU per frame (all its threads: server, worker, onnxruntime), against the same model with the network
 * call replaced by a copy (the runtime's and the model's own share). Then 1, 4 and 8 sessions on one model host with
 * dynamic batching on (maxBatch 8) and off (maxBatch 1). And the network alone, in this process: ms per picture at
 * batch 1, 4 and 8.
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as ort from "onnxruntime-node"
import { side, toInput } from "../examples/06-background.js"
import * as FrameHeader from "../src/protocol/FrameHeader.js"
import * as Person from "../test/fixtures/person.js"
import * as Child from "./lib/Child.js"
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Proc from "./lib/Proc.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import type { NeuralJob } from "./servers/neural.js"

const width = 640
const height = 360
const camera = Person.picture(width, height)

/** CPU seconds so far of a process's main thread (its thread id is the process id): the server's own thread. */
const mainThreadSeconds = (pid: number): number => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}

interface Run {
  /** CPU per output frame of the server's main thread alone (sockets, frame hand-offs), ms. */
  readonly mainCpuMsPerFrame: number
  readonly latency: Stats.Summary
  /** Output frames per second, all sessions together. */
  readonly fps: number
  /** Server process CPU (all threads) per output frame, ms. */
  readonly cpuMsPerFrame: number
}

const startSession = async (port: number): Promise<Client.Connection> => {
  const response = await fetch(`http://127.0.0.1:${port}/start_session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}"
  })
  const body = (await response.json()) as { session_id?: string }
  if (!response.ok || body.session_id === undefined) throw new Error(`start_session: ${JSON.stringify(body)}`)
  return Client.connect(`ws://127.0.0.1:${port}/sessions/${body.session_id}/transport/websocket?format=rgb`)
}

/**
 * Whether a frame is the example's waiting pattern (shown before the first camera frame), not an answer to one: 06's
 * starts dark grey (40), 07's is a checkerboard of 30 and 70.
 */
const isWaiting = (message: Uint8Array): boolean => {
  const p = FrameHeader.headerBytes
  if (message[p] === 40 && message[p + 1] === 40 && message[p + 2] === 40) return true
  for (let i = p; i < p + 48; i++) if (message[i] !== 30 && message[i] !== 70) return false
  return true
}

/** One session's closed loop: send the camera frame, wait for the next transformed frame, repeat. */
const loop = async (connection: Client.Connection, frames: number, onSample: (ms: number) => void) => {
  let next: ((at: number) => void) | undefined
  connection.onFrame = (message, at) => {
    if (isWaiting(message)) return
    next?.(at)
  }
  for (let i = 0; i < frames; i++) {
    const t0 = performance.now()
    const arrived = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no transformed frame within 15 s (frame ${i})`)), 15_000)
      next = (at) => (clearTimeout(timer), next = undefined, resolve(at))
    })
    connection.ws.send(FrameHeader.encodeInput(1, camera, Date.now(), i))
    onSample((await arrived) - t0)
  }
}

/** `sessions` concurrent closed loops on one server; `warmup` unmeasured frames each first. */
const measure = async (job: NeuralJob, sessions: number, config: Config): Promise<Run> => {
  // A worker that loads onnxruntime and the example through tsx takes 10-20 s to listen on a loaded machine.
  const child = await Child.start("neural.ts", job, {}, 120_000)
  try {
    const connections = await Promise.all(Array.from({ length: sessions }, () => startSession(child.port)))
    await Promise.all(connections.map((c) => loop(c, pick(config, sessions === 1 ? 10 : 5, 2), () => {})))
    const samples: Array<number> = []
    const before = Proc.sample(child.pid)
    const mainBefore = mainThreadSeconds(child.pid)
    const t0 = performance.now()
    await Promise.all(
      connections.map((c) =>
        loop(c, pick(config, sessions === 1 ? 150 : Math.ceil(120 / sessions) + 5, 4), (ms) => samples.push(ms))
      )
    )
    const seconds = (performance.now() - t0) / 1000
    const after = Proc.sample(child.pid)
    const mainAfter = mainThreadSeconds(child.pid)
    await Promise.all(connections.map((c) => c.close()))
    const summary = Stats.summarize(samples)
    config.log(
      `neural: ${job.example ?? "06"} ${job.network} maxBatch ${job.maxBatch}, ${sessions} session(s): p50 ${
        summary.p50.toFixed(1)
      } ms, ` +
        `p99 ${summary.p99.toFixed(1)} ms, ${(samples.length / seconds).toFixed(2)} fps`
    )
    return {
      latency: Stats.summarize(samples),
      fps: samples.length / seconds,
      cpuMsPerFrame: before && after ? ((after.cpuSeconds - before.cpuSeconds) * 1000) / samples.length : NaN,
      mainCpuMsPerFrame: ((mainAfter - mainBefore) * 1000) / samples.length
    }
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${child.stderrTail()}`)
  } finally {
    await child.stop()
  }
}

const endToEnd = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const network = await attempt(
    "network",
    notes,
    () => measure({ network: "onnx", maxBatch: 8, maxWaitMs: 0 }, 1, config)
  )
  // Smoke: one server start is enough to check the path (a start takes 10-20 s on a loaded machine).
  const copy = config.smoke
    ? (notes.push("smoke: the copy variant is not run"), undefined)
    : await attempt("copy", notes, () => measure({ network: "copy", maxBatch: 8, maxWaitMs: 0 }, 1, config))
  notes.push(
    "one session, one camera frame in flight: from the client's send of a 640x360 RGB input frame to the arrival " +
      "of the transformed 640x360 RGB frame (blur mode: resize, the network's 256x256 input, the mask upsampled, a " +
      "blurred background, the composite); CPU = the server process's user+system time (every thread) per frame"
  )
  const row = (metric: string, unit: string, f: (r: Run) => number, better: Table.Better) => ({
    metric,
    unit,
    runtime: network && f(network),
    baseline: copy && f(copy),
    better
  })
  return {
    name: "neural",
    title: "14a. Example 06 end to end: camera frame to transformed frame over the WebSocket",
    columns: {
      runtime: "example 06 with MediaPipe's selfie segmentation network (onnxruntime-node, 1 thread, in the worker)",
      baseline: "the same model with the network call replaced by a copy"
    },
    labels: { runtime: "network", baseline: "copy" },
    rows: [
      row("p50", "ms", (r) => r.latency.p50, "lower"),
      row("p99", "ms", (r) => r.latency.p99, "lower"),
      Table.valueTarget(row("frames/s", "fps", (r) => r.fps, "higher"), { atLeast: 25 }),
      row("server CPU per frame", "ms", (r) => r.cpuMsPerFrame, "lower"),
      row("of which the server's main thread", "ms", (r) => r.mainCpuMsPerFrame, "lower")
    ],
    notes
  }
}

const batching = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const counts = config.smoke ? [2] : [1, 4, 8]
  const rows: Array<Table.Row> = []
  for (const sessions of counts) {
    const on = await attempt(
      `${sessions} sessions, batching on`,
      notes,
      () => measure({ network: "onnx", maxBatch: 8, maxWaitMs: 0 }, sessions, config)
    )
    const off = config.smoke ? undefined : await attempt(
      `${sessions} sessions, batching off`,
      notes,
      () => measure({ network: "onnx", maxBatch: 1, maxWaitMs: 0 }, sessions, config)
    )
    const fps = {
      metric: `${sessions} sessions: frames/s in total`,
      unit: "fps",
      runtime: on?.fps,
      baseline: off?.fps,
      better: "higher" as const
    }
    rows.push(sessions === 8 ? Table.ratioTarget(fps, { atLeast: 1.5 }) : fps)
    rows.push({
      metric: `${sessions} sessions: p50 per frame`,
      unit: "ms",
      runtime: on?.latency.p50,
      baseline: off?.latency.p50,
      better: "lower"
    })
    rows.push({
      metric: `${sessions} sessions: server CPU per frame`,
      unit: "ms",
      runtime: on?.cpuMsPerFrame,
      baseline: off?.cpuMsPerFrame,
      better: "lower"
    })
    rows.push({
      metric: `${sessions} sessions: of which the main thread`,
      unit: "ms",
      runtime: on?.mainCpuMsPerFrame,
      baseline: off?.mainCpuMsPerFrame,
      better: "lower"
    })
  }
  if (config.smoke) notes.push("smoke: 2 sessions with batching on only")
  notes.push(
    "every session a closed loop (one camera frame in flight) on one model host (one worker thread); batching on: " +
      "the queued pictures of all sessions go to onnxruntime in one call of up to 8 (maxWaitMs 0: no waiting, " +
      "batches form while the previous one runs); off: maxBatch 1"
  )
  return {
    name: "neural-batching",
    title: "14b. Dynamic batching across sessions (example 06, one model host)",
    columns: { runtime: "Batch on, maxBatch 8", baseline: "Batch off, maxBatch 1" },
    labels: { runtime: "batched", baseline: "unbatched" },
    rows,
    notes
  }
}

const networkAlone = async (config: Config): Promise<Table.Table> => {
  const modelPath = fileURLToPath(new URL("../examples/models/selfie_segmentation.onnx", import.meta.url))
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  const picture = toInput(camera)
  const perPicture = async (n: number) => {
    const batch = new Float32Array(n * picture.length)
    for (let i = 0; i < n; i++) batch.set(picture, i * picture.length)
    const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", batch, [n, 3, side, side]) }
    const samples: Array<number> = []
    const warmup = pick(config, 10, 1)
    let cpu = process.cpuUsage()
    for (let i = 0; i < warmup + pick(config, 100, 3); i++) {
      if (i === warmup) cpu = process.cpuUsage()
      const t0 = performance.now()
      await session.run(feeds)
      if (i >= warmup) samples.push((performance.now() - t0) / n)
    }
    const used = process.cpuUsage(cpu)
    return { wall: Stats.summarize(samples), cpuMs: (used.user + used.system) / 1000 / (samples.length * n) }
  }
  const one = await perPicture(1)
  const rows: Array<Table.Row> = []
  for (const n of [1, 4, 8]) {
    const s = n === 1 ? one : await perPicture(n)
    rows.push(
      {
        metric: `batch ${n}: ms per picture (p50)`,
        unit: "ms",
        runtime: s.wall.p50,
        baseline: one.wall.p50,
        better: "lower"
      },
      { metric: `batch ${n}: CPU ms per picture`, unit: "ms", runtime: s.cpuMs, baseline: one.cpuMs, better: "lower" }
    )
  }
  await session.release()
  return {
    name: "neural-network",
    title: "14c. The selfie segmentation network alone (onnxruntime-node, 1 intra-op thread, this process)",
    columns: { runtime: "one call of `InferenceSession.run` on a batch, divided by its size", baseline: "batch 1" },
    labels: { runtime: "batch n", baseline: "batch 1" },
    rows,
    notes: [
      "256x256 RGB in, 256x256 mask out; the call blocks this thread for its whole duration; CPU = this process's " +
      "user+system time over the measured calls (less sensitive to other processes' load than the wall clock)"
    ]
  }
}

const upscale = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const network = await attempt(
    "network",
    notes,
    () => measure({ example: "07", network: "onnx", maxBatch: 1, maxWaitMs: 0 }, 1, config)
  )
  const copy = config.smoke
    ? (notes.push("smoke: the copy variant is not run"), undefined)
    : await attempt(
      "copy",
      notes,
      () => measure({ example: "07", network: "copy", maxBatch: 1, maxWaitMs: 0 }, 1, config)
    )
  notes.push(
    "one session, one camera frame in flight: from the client's send of a 640x360 RGB input frame to the arrival " +
      "of the 256x144 RGB frame (the camera shrunk to 128x72 by area averaging, the RDN network x2, the session's " +
      "memory blended in at the default smoothing 0.25); CPU = the server process's user+system time (every thread) " +
      "per frame; copy = each small pixel repeated 2x2 instead of the network"
  )
  const row = (metric: string, unit: string, f: (r: Run) => number, better: Table.Better) => ({
    metric,
    unit,
    runtime: network && f(network),
    baseline: copy && f(copy),
    better
  })
  return {
    name: "neural-upscale",
    title: "14d. Example 07 end to end: camera frame to the network's x2 picture over the WebSocket",
    columns: {
      runtime: "example 07 with the RDN super-resolution network (onnxruntime-node, 1 thread, in the worker)",
      baseline: "the same model with the network call replaced by a copy"
    },
    labels: { runtime: "network", baseline: "copy" },
    rows: [
      row("p50", "ms", (r) => r.latency.p50, "lower"),
      row("p99", "ms", (r) => r.latency.p99, "lower"),
      Table.valueTarget(row("frames/s", "fps", (r) => r.fps, "higher"), { atLeast: 15 }),
      row("server CPU per frame", "ms", (r) => r.cpuMsPerFrame, "lower"),
      row("of which the server's main thread", "ms", (r) => r.mainCpuMsPerFrame, "lower")
    ],
    notes
  }
}

/** Four benchmarks, so that each prints its table as soon as it is done. */
export const benchmarks: ReadonlyArray<Benchmark> = [
  { name: "neural-network", run: async (config) => [await networkAlone(config)] },
  { name: "neural", run: async (config) => [await endToEnd(config)] },
  { name: "neural-batching", run: async (config) => [await batching(config)] },
  { name: "neural-upscale", run: async (config) => [await upscale(config)] }
]
