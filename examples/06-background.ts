/**
 * 06: a trained network, live. The viewer's webcam goes in, MediaPipe's selfie segmentation network (106 k
 * parameters, Apache-2.0, converted to ONNX in examples/models/) finds the person in each picture, and the background
 * behind them is blurred, painted one colour, swapped for a picture, or left alone. 640x360 out at the camera's rate.
 * `npx tsx examples/06-background.ts`, then send frames on the `webcam` track (the page's camera button, the SDK's
 * `WebcamStream`, or WebSocket binary input frames). Until the first camera frame it shows a waiting pattern.
 *
 * The weights load once, in `load`, into an onnxruntime-node session (CPU, `threads` intra-op threads) behind a
 * `Batch`: the sessions of one model host submit one picture each and the batcher runs the queued ones in one call.
 * `InferenceSession.run` blocks the JavaScript thread it is called on, so this model runs in the worker host (the
 * default of `reactor run`), never on the server's thread.
 *
 * Measured (onnxruntime-node 1.30, 1 intra-op thread, 2-core machine; `npm run bench -- --only=neural-network,neural`,
 * bench/neural.ts). On a quiet machine the probe measured the network at 3.8 ms per 256x256 picture and a
 * whole 640x360 frame (resize, network, compositing) at 6.7 ms. This example's own run, 2026-12-03, load average 21 on
 * 2 cores (other jobs took most of the CPU, so wall-clock figures are inflated several times):
 *   the network alone, batch 1: 11.5 ms per picture (p50, wall clock);
 *   end to end over the WebSocket, one session, one camera frame in flight: p50 671 ms, p99 1539 ms, 1.39 frames/s,
 *   59.0 ms of server CPU per frame; the same model with the network replaced by a copy: p50 386 ms, 2.26 frames/s,
 *   37.0 ms of CPU per frame (so the network is ~22 ms of CPU per frame at that load, the rest is the runtime, the
 *   640x360 RGB frames both ways and this file's resize, blur and composite in plain JavaScript).
 * A run at load 3-5: one session p50 53.4 ms, 16.1 frames/s, 33.5 ms CPU per frame; with a copy instead of the network
 * 17.1 frames/s, 29.0 ms CPU: the per-frame JavaScript, not the network, sets the rate (see BENCHMARKS.md, 12).
 */
import { Effect, Option, Ref, Schema, type Scope, Stream } from "effect"
import { Batch, Command, Frame, Input, Model, Param } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"
import { fileURLToPath } from "node:url"
import * as ort from "onnxruntime-node"

export const modes = ["blur", "colour", "picture", "none"] as const
export type Mode = (typeof modes)[number]

export const Commands = Command.group(
  Command.make("set_mode", {
    description: "What replaces the background",
    payload: {
      mode: Param.literal(modes, { description: "blur it, one colour, a picture, or none (the camera as is)" })
    }
  }),
  Command.make("set_colour", {
    description: "The background colour of the colour mode",
    payload: {
      r: Param.int({ min: 0, max: 255, default: 0, description: "Red" }),
      g: Param.int({ min: 0, max: 255, default: 177, description: "Green" }),
      b: Param.int({ min: 0, max: 255, default: 64, description: "Blue" })
    }
  }),
  Command.make("set_edges", {
    description: "Where the person ends: the network's probability threshold and how soft the edge is",
    payload: {
      threshold: Param.number({ min: 0, max: 1, default: 0.5, description: "Person above this probability" }),
      softness: Param.number({ min: 0, max: 0.5, default: 0.2, description: "Width of the blend at the edge" })
    }
  })
)

/** The network kept in the repository (see examples/models/NOTICE.md). */
const bundled = fileURLToPath(new URL("models/selfie_segmentation.onnx", import.meta.url))

export const Config = Schema.Struct({
  width: Param.int({ min: 16, max: 1920, default: 640, description: "Output width" }),
  height: Param.int({ min: 16, max: 1080, default: 360, description: "Output height" }),
  fps: Param.int({ min: 1, max: 60, default: 30, description: "Frames per second of the waiting pattern" }),
  modelPath: Param.string({ default: bundled, description: "The selfie segmentation network (ONNX)" }),
  threads: Param.int({ min: 1, max: 16, default: 1, description: "onnxruntime's intra-op threads" }),
  maxBatch: Param.int({ min: 1, max: 32, default: 8, description: "Pictures of all sessions run in one call at most" }),
  maxWaitMs: Param.number({ min: 0, max: 100, default: 0, description: "How long a batch waits for more pictures" })
})

/** What the commands change. */
export interface Settings {
  readonly mode: Mode
  readonly colour: { readonly r: number; readonly g: number; readonly b: number }
  readonly threshold: number
  readonly softness: number
}

export const initial: Settings = { mode: "blur", colour: { r: 0, g: 177, b: 64 }, threshold: 0.5, softness: 0.2 }

/** The network's input side: 256x256 RGB in [0, 1], planar. */
export const side = 256

/** A picture of any size scaled to `width` x `height` (nearest neighbour). */
export const resize = (frame: Frame.Frame, width: number, height: number): Frame.Frame => {
  if (frame.width === width && frame.height === height) return Frame.clone(frame)
  const out = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const row = Math.floor(((y + 0.5) * frame.height) / height) * frame.width
    for (let x = 0; x < width; x++) {
      const from = (row + Math.floor(((x + 0.5) * frame.width) / width)) * 3
      out.set(frame.data.subarray(from, from + 3), (y * width + x) * 3)
    }
  }
  return { width, height, data: out }
}

/** The network's input for a picture: stretched to 256x256, planar float RGB in [0, 1]. */
export const toInput = (frame: Frame.Frame): Float32Array => {
  const input = new Float32Array(3 * side * side)
  const plane = side * side
  for (let y = 0; y < side; y++) {
    const row = Math.floor(((y + 0.5) * frame.height) / side) * frame.width
    for (let x = 0; x < side; x++) {
      const from = (row + Math.floor(((x + 0.5) * frame.width) / side)) * 3
      const to = y * side + x
      input[to] = frame.data[from]! / 255
      input[plane + to] = frame.data[from + 1]! / 255
      input[2 * plane + to] = frame.data[from + 2]! / 255
    }
  }
  return input
}

/**
 * How much of each output pixel is the person (0-1): the 256x256 probabilities upsampled bilinearly, then a ramp of
 * width `softness` centred on `threshold`.
 */
export const alphaOf = (
  mask: Float32Array,
  width: number,
  height: number,
  settings: Pick<Settings, "threshold" | "softness">
): Float32Array => {
  const soft = Math.max(settings.softness, 1e-3)
  const low = settings.threshold - soft / 2
  const alpha = new Float32Array(width * height)
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max(((y + 0.5) * side) / height - 0.5, 0), side - 1)
    const y0 = Math.floor(sy)
    const y1 = Math.min(y0 + 1, side - 1)
    const fy = sy - y0
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max(((x + 0.5) * side) / width - 0.5, 0), side - 1)
      const x0 = Math.floor(sx)
      const x1 = Math.min(x0 + 1, side - 1)
      const fx = sx - x0
      const top = mask[y0 * side + x0]! * (1 - fx) + mask[y0 * side + x1]! * fx
      const bottom = mask[y1 * side + x0]! * (1 - fx) + mask[y1 * side + x1]! * fx
      const p = top * (1 - fy) + bottom * fy
      alpha[y * width + x] = Math.min(1, Math.max(0, (p - low) / soft))
    }
  }
  return alpha
}

/** A strong blur: the picture averaged over 8x8 cells, then spread back bilinearly. */
export const blurred = (frame: Frame.Frame): Uint8Array => {
  const { data, height, width } = frame
  const cell = 8
  const cw = Math.ceil(width / cell)
  const ch = Math.ceil(height / cell)
  const sums = new Float32Array(cw * ch * 3)
  const counts = new Float32Array(cw * ch)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = Math.floor(y / cell) * cw + Math.floor(x / cell)
      const i = (y * width + x) * 3
      for (let k = 0; k < 3; k++) sums[c * 3 + k] = sums[c * 3 + k]! + data[i + k]!
      counts[c] = counts[c]! + 1
    }
  }
  for (let c = 0; c < cw * ch; c++) for (let k = 0; k < 3; k++) sums[c * 3 + k] = sums[c * 3 + k]! / counts[c]!
  const out = new Uint8Array(data.length)
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max((y + 0.5) / cell - 0.5, 0), ch - 1)
    const y0 = Math.floor(sy)
    const y1 = Math.min(y0 + 1, ch - 1)
    const fy = sy - y0
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max((x + 0.5) / cell - 0.5, 0), cw - 1)
      const x0 = Math.floor(sx)
      const x1 = Math.min(x0 + 1, cw - 1)
      const fx = sx - x0
      for (let k = 0; k < 3; k++) {
        const top = sums[(y0 * cw + x0) * 3 + k]! * (1 - fx) + sums[(y0 * cw + x1) * 3 + k]! * fx
        const bottom = sums[(y1 * cw + x0) * 3 + k]! * (1 - fx) + sums[(y1 * cw + x1) * 3 + k]! * fx
        out[(y * width + x) * 3 + k] = top * (1 - fy) + bottom * fy
      }
    }
  }
  return out
}

/** The picture of the picture mode: a beach at sunset (sky, sun, sea and sand), drawn once per size. */
export const beach = (width: number, height: number): Uint8Array => {
  const data = new Uint8Array(width * height * 3)
  const horizon = height * 0.55
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = y / horizon
      const sun = Math.hypot(x - width * 0.7, y - horizon * 0.8) < height * 0.09
      const colour = y < horizon
        ? sun ? [255, 220, 120] : [40 + 200 * t, 60 + 90 * t, 140 - 40 * t]
        : y < height * 0.8
        ? [20, 70 + 30 * Math.sin(x * 0.05 + y * 0.3), 120]
        : [220, 190, 140]
      data.set(colour, (y * width + x) * 3)
    }
  }
  return data
}

/** The composite: the camera where `alpha` is 1, the background where it is 0, blended between. */
export const composite = (camera: Frame.Frame, background: Uint8Array, alpha: Float32Array): Frame.Frame => {
  const out = new Uint8Array(camera.data.length)
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i]!
    for (let k = i * 3; k < i * 3 + 3; k++) out[k] = camera.data[k]! * a + background[k]! * (1 - a)
  }
  return { width: camera.width, height: camera.height, data: out }
}

/** The background a mode puts behind the person (undefined for none). */
export const backgroundFor = (
  settings: Settings,
  camera: Frame.Frame,
  picture: Uint8Array
): Uint8Array | undefined => {
  switch (settings.mode) {
    case "blur":
      return blurred(camera)
    case "colour": {
      const { b, g, r } = settings.colour
      const out = new Uint8Array(camera.data.length)
      for (let i = 0; i < out.length; i += 3) {
        out[i] = r
        out[i + 1] = g
        out[i + 2] = b
      }
      return out
    }
    case "picture":
      return picture
    case "none":
      return undefined
  }
}

/** The picture before any camera frame: dark grey with a pulsing ring where a face would be. */
export const waiting = (width: number, height: number, t: number): Frame.Frame => {
  const data = new Uint8Array(width * height * 3).fill(40)
  const radius = height * (0.25 + 0.03 * Math.sin(t * 4))
  for (let step = 0; step < 2048; step++) {
    const angle = (step / 2048) * 2 * Math.PI
    for (let r = radius - 2; r <= radius + 2; r++) {
      const x = Math.round(width / 2 + r * Math.cos(angle))
      const y = Math.round(height / 2 + r * Math.sin(angle))
      if (x >= 0 && x < width && y >= 0 && y < height) data.fill(200, (y * width + x) * 3, (y * width + x) * 3 + 3)
    }
  }
  return { width, height, data }
}

/** What the sessions need of the network: a 256x256 picture in, its person probabilities out. */
export interface Segmenter {
  readonly segment: (input: Float32Array) => Effect.Effect<Float32Array>
}

/** Loads the network once per process and starts the batcher every session of this process shares. */
export const loadNetwork = (config: typeof Config.Type): Effect.Effect<Segmenter, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          ort.InferenceSession.create(config.modelPath, {
            intraOpNumThreads: config.threads,
            interOpNumThreads: 1,
            executionProviders: ["cpu"]
          }),
        catch: (cause) => new Error(`cannot load the network from ${config.modelPath}: ${String(cause)}`)
      }),
      (session) => Effect.promise(() => session.release())
    )
    const [input] = network.inputNames
    const [output] = network.outputNames
    const plane = side * side
    const batcher = yield* Batch.make({
      maxBatch: config.maxBatch,
      maxWaitMs: config.maxWaitMs,
      // One call for the pictures of every session waiting: [n, 3, 256, 256] in, [n, 1, 256, 256] out.
      run: (pictures: ReadonlyArray<Float32Array>) =>
        Effect.promise(async () => {
          const batch = new Float32Array(pictures.length * 3 * plane)
          pictures.forEach((picture, i) => batch.set(picture, i * 3 * plane))
          const result = await network.run({
            [input!]: new ort.Tensor("float32", batch, [pictures.length, 3, side, side])
          })
          const masks = result[output!]!.data as Float32Array
          return pictures.map((_, i) => masks.subarray(i * plane, (i + 1) * plane))
        })
    })
    return { segment: batcher.submit }
  })

/** The model around a network (`loadNetwork`; the benchmark swaps in a copy to measure the runtime's own share). */
export const make = (load: (config: typeof Config.Type) => Effect.Effect<Segmenter, unknown, Scope.Scope>) =>
  Model.make({
    name: "background",
    description: "Replaces the background behind the person in the viewer's webcam (a trained segmentation network)",
    commands: Commands,
    inputs: { webcam: Input.video({ description: "Your camera", maxWidth: 1280, maxHeight: 720 }) },
    config: Config,
    load,
    session: ({ config, ctx, loaded }) =>
      Effect.gen(function*() {
        const { height, width } = config
        const webcam = ctx.input("webcam")
        const settings = yield* Ref.make(initial)
        const picture = beach(width, height)
        const set = (patch: Partial<Settings>) =>
          Effect.flatMap(
            Ref.updateAndGet(settings, (s) => ({ ...s, ...patch })),
            (s) => ctx.send({ type: "state", ...s })
          )

        /** One camera picture in, one output frame out. */
        const replace = (camera: Input.InputFrame) =>
          Effect.gen(function*() {
            const now = yield* Ref.get(settings)
            const base = resize(camera, width, height)
            const background = backgroundFor(now, base, picture)
            if (background === undefined) return base
            const mask = yield* loaded.segment(toInput(base))
            return composite(base, background, alphaOf(mask, width, height, now))
          })

        return {
          handlers: {
            set_mode: ({ mode }) => set({ mode }),
            set_colour: (colour) => set({ colour }),
            set_edges: ({ softness, threshold }) => set({ threshold, softness })
          },
          run: Effect.gen(function*() {
            for (let t = 0; Option.isNone(yield* webcam.latest); t++) {
              yield* ctx.emit(waiting(width, height, t / config.fps))
              yield* Effect.sleep(1000 / config.fps)
            }
            // From the first camera frame on, one output per camera frame (a reader that falls behind skips the oldest).
            yield* Stream.runForEach(webcam.frames, (camera) => Effect.flatMap(replace(camera), ctx.emit))
          })
        }
      })
  })

export const model = make(loadNetwork)

export default model

runIfMain(import.meta, model)
