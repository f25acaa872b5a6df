/**
 * 13c. A trained network in a Python model: examples/python/background.py (MediaPipe's selfie segmentation run by
 * onnxruntime for Python in the model's Python process, numpy around it) against example 06
 * (examples/06-background.ts: the same ONNX file run by onnxruntime-node, plain JavaScript around it, in a worker
 * thread, as `reactor run` hosts it). Both at their defaults (640x360, blur mode, 1 intra-op thread), measured in
 * this process on the reactor's own streams (no transport):
 * - a closed loop: the drawn person (test/fixtures/person.ts) pushed as the webcam frame, the transformed frame
 *   awaited, the next pushed: camera frame to transformed frame p50/p99 and frames/s sustained;
 * - CPU per frame: this process's CPU (every thread, the worker included) plus the Python process's;
 * - the network alone: one `run` on a 256x256 picture, in a Python process with onnxruntime against
 *   onnxruntime-node in this process (ms per picture p50, CPU ms per picture).
 */
import { Effect, Logger, LogLevel, type Scope } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import * as ort from "onnxruntime-node"
import { side, toInput } from "../examples/06-background.js"
import * as PythonReactor from "../src/host/python/PythonReactor.js"
import * as WorkerReactor from "../src/host/WorkerReactor.js"
import type { Frame } from "../src/model/Frame.js"
import * as EndReason from "../src/protocol/EndReason.js"
import type * as Reactor from "../src/session/Reactor.js"
import * as Person from "../test/fixtures/person.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import type * as Table from "./lib/Table.js"
import { cpuNow } from "./python.js"

const python = process.env.REACTOR_PYTHON ?? "python3"
const camera: Frame = Person.picture(640, 360)
const network = resolve("examples/models/selfie_segmentation.onnx")

interface Loop {
  readonly latency: Stats.Summary
  readonly fps: number
  readonly cpuMsPerFrame: number
}

interface Alone {
  readonly p50: number
  readonly cpuMs: number
}

/** The closed loop on one session of a reactor: push the camera frame, await its transformed frame, repeat. */
const loop = (
  make: Effect.Effect<Reactor.Service, unknown, Scope.Scope>,
  warmup: number,
  frames: number
): Promise<Loop> =>
  Effect.gen(function*() {
    const reactor = yield* make
    const session = yield* reactor.start()
    const stream = yield* session.frames(8)
    const once = Effect.gen(function*() {
      yield* session.pushInput("webcam", { ...camera, data: camera.data.slice() })
      for (;;) {
        // The waiting pattern (before the first camera frame) starts dark grey: not an answer.
        const { frame } = yield* stream.take
        if (frame.data[0] !== 40 || frame.data[1] !== 40) return
      }
    })
    for (let i = 0; i < warmup; i++) yield* once
    const samples: Array<number> = []
    const cpu0 = cpuNow()
    const t0 = performance.now()
    for (let i = 0; i < frames; i++) {
      const sent = performance.now()
      yield* once
      samples.push(performance.now() - sent)
    }
    const seconds = (performance.now() - t0) / 1000
    const cpu = cpuNow() - cpu0
    yield* session.stop(EndReason.Stopped({ by: "bench" }))
    return { latency: Stats.summarize(samples), fps: frames / seconds, cpuMsPerFrame: (cpu * 1000) / frames }
  }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error), Effect.runPromise)

const pythonAloneScript = `
import json, sys, time
import numpy as np
import onnxruntime as ort
path, picture, warmup, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
feeds = {session.get_inputs()[0].name: np.fromfile(picture, dtype=np.float32).reshape(1, 3, 256, 256)}
for _ in range(warmup):
    session.run(None, feeds)
samples = []
cpu = time.process_time()
for _ in range(n):
    t0 = time.perf_counter()
    session.run(None, feeds)
    samples.append((time.perf_counter() - t0) * 1000)
cpu = (time.process_time() - cpu) * 1000 / n
print(json.dumps({"p50": sorted(samples)[(n + 1) // 2 - 1], "cpuMs": cpu, "version": ort.__version__}))
`

/** The network alone in a Python process (onnxruntime for Python), batch 1, 1 intra-op thread. */
const pythonAlone = (picture: Float32Array, warmup: number, n: number): Alone & { version: string } => {
  const dir = mkdtempSync(join(tmpdir(), "python-neural-"))
  try {
    const file = join(dir, "picture.f32")
    writeFileSync(file, new Uint8Array(picture.buffer, picture.byteOffset, picture.byteLength))
    const out = execFileSync(python, ["-c", pythonAloneScript, network, file, String(warmup), String(n)], {
      encoding: "utf8",
      timeout: 300_000
    })
    return JSON.parse(out.trim().split("\n").at(-1)!)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The network alone in this process (onnxruntime-node), batch 1, 1 intra-op thread. */
const nodeAlone = async (picture: Float32Array, warmup: number, n: number): Promise<Alone> => {
  const session = await ort.InferenceSession.create(network, { intraOpNumThreads: 1, interOpNumThreads: 1 })
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", picture, [1, 3, side, side]) }
    for (let i = 0; i < warmup; i++) await session.run(feeds)
    const samples: Array<number> = []
    const cpu = process.cpuUsage()
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await session.run(feeds)
      samples.push(performance.now() - t0)
    }
    const used = process.cpuUsage(cpu)
    return { p50: Stats.summarize(samples).p50, cpuMs: (used.user + used.system) / 1000 / n }
  } finally {
    await session.release()
  }
}

/** Whether `python` imports onnxruntime (examples/python/requirements.txt); CI must have it. */
const hasOnnxruntime = (): boolean => {
  try {
    execFileSync(python, ["-c", "import onnxruntime"], { stdio: "ignore", timeout: 120_000 })
    return true
  } catch {
    return false
  }
}

const run = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const warmup = pick(config, 10, 2)
  const frames = pick(config, 150, 4)
  const calls = pick(config, 100, 3)
  const picture = toInput(camera)
  const skipPython = !hasOnnxruntime() && process.env.CI !== "true"
  if (skipPython) {
    notes.push(
      `the Python side is skipped: ${python} cannot import onnxruntime (pip install -r examples/python/requirements.txt)`
    )
  }
  config.log("  python background.py")
  const py = skipPython ?
    undefined :
    await attempt(
      "python",
      notes,
      () => loop(PythonReactor.make({ module: resolve("examples/python/background.py") }), warmup, frames)
    )
  config.log("  ts worker 06-background.ts")
  const ts = await attempt(
    "ts worker",
    notes,
    () => loop(WorkerReactor.make({ module: resolve("examples/06-background.ts") }), warmup, frames)
  )
  config.log("  the network alone")
  const pyAlone = skipPython ? undefined : await attempt("python network", notes, async () => {
    const measured = pythonAlone(picture, warmup, calls)
    notes.push(`onnxruntime for Python ${measured.version}; onnxruntime-node ${ort.env.versions.common}`)
    return measured
  })
  const nodeNet = await attempt("node network", notes, () => nodeAlone(picture, warmup, calls))
  notes.push(
    `one session, one camera frame in flight, ${frames} frames after ${warmup} unmeasured; 640x360 RGB in and out, ` +
      "blur mode (resize, the network's 256x256 input, the mask upsampled, an 8x8-cell blur, the composite); " +
      "CPU = this process (every thread) plus the Python process, per frame. The network alone: " +
      `${calls} calls after ${warmup} unmeasured, batch 1, 1 intra-op thread`
  )
  const row = <A>(
    metric: string,
    unit: string,
    p: A | undefined,
    t: A | undefined,
    f: (a: A) => number,
    better: Table.Better
  ): Table.Row => ({ metric, unit, runtime: p && f(p), baseline: t && f(t), better })
  return {
    name: "python-neural",
    title: "13c. A trained network in Python (examples/python/background.py) against example 06 in a TS worker",
    columns: {
      runtime: "background.py: onnxruntime for Python and numpy, in the model's Python process",
      baseline: "06-background.ts: onnxruntime-node and JavaScript, in a worker thread"
    },
    labels: { runtime: "python", baseline: "ts worker" },
    rows: [
      row("camera frame to transformed frame p50", "ms", py, ts, (r) => r.latency.p50, "lower"),
      row("camera frame to transformed frame p99", "ms", py, ts, (r) => r.latency.p99, "lower"),
      row("frames/s sustained (closed loop)", "fps", py, ts, (r) => r.fps, "higher"),
      row("CPU per frame (server + model)", "ms", py, ts, (r) => r.cpuMsPerFrame, "lower"),
      row("the network alone: ms per picture p50", "ms", pyAlone, nodeNet, (r) => r.p50, "lower"),
      row("the network alone: CPU ms per picture", "ms", pyAlone, nodeNet, (r) => r.cpuMs, "lower")
    ],
    notes
  }
}

export const benchmark: Benchmark = { name: "python-neural", run: async (config) => [await run(config)] }
