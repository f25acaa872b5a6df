/**
 * 07: a second trained network, with per-session state. The viewer's webcam is shrunk to a small picture (128x72 by
 * default, as a low-bandwidth camera would send), and UpscalerJS's RDN super-resolution network (`esrgan-slim` x2,
 * MIT, converted to ONNX in examples/models/) draws it at twice the size. Each session keeps its own memory of the
 * pictures it made, as a world model keeps its latent: the output is blended with it (`set_smoothing`), which steadies
 * the camera's noise from frame to frame. The weights load once, in `load`; the memory lives in the session.
 * `npx tsx examples/07-upscale.ts`, then send frames on the `webcam` track. Commands: the view (the network's
 * picture, a bilinear upscale of the same small picture, the two side by side, or the small input itself) and the
 * smoothing.
 *
 * The network costs ~2 G multiply-adds per 128x72 picture (222 k weights at each small pixel): the small picture's
 * size is a config value, and the converted file takes any size. `InferenceSession.run` blocks the thread it runs
 * on, so this model belongs in the worker host (the default of `reactor run`).
 *
 * Measured (onnxruntime-node 1.30, 1 intra-op thread, 2-core machine shared with other jobs, 2026-12-03):
 *   the network alone, 128x72 -> 256x144: 26 ms of CPU per picture (51 ms wall) at load 11; 96x54: 14 ms;
 *   2 intra-op threads were slower at that load (48 ms of CPU, 98 ms wall);
 *   end to end over the WebSocket (bench/neural.ts 14d, `--only=neural-upscale`), one session, one 640x360 camera
 *   frame in flight, at load 15-19: p50 95.6 ms, 8.98 frames/s, 40.6 ms of server CPU per frame; the same model with
 *   a copy instead of the network: p50 58.3 ms, 14.3 frames/s, 12.8 ms of CPU per frame. So the network is ~28 ms of
 *   a frame's ~41 ms of CPU at that load, and the runtime with this file's shrink, memory and conversions ~13 ms:
 *   the >= 15 frames/s of the issue needs the machine's cores for itself (rerun quietly), or a smaller picture.
 */
import { Effect, Option, Ref, Schema, type Scope, Stream } from "effect"
import { Command, Frame, Input, Model, Param } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"
import { fileURLToPath } from "node:url"
import * as ort from "onnxruntime-node"

export const views = ["network", "bilinear", "compare", "input"] as const
export type View = (typeof views)[number]

export const Commands = Command.group(
  Command.make("set_view", {
    description: "What is shown at twice the small picture's size",
    payload: {
      view: Param.literal(views, {
        description: "the network's picture, a bilinear upscale, both side by side (network left), or the input"
      })
    }
  }),
  Command.make("set_smoothing", {
    description: "How much of each picture is this session's memory of the previous ones",
    payload: {
      amount: Param.number({ min: 0, max: 0.95, default: 0.25, description: "0 = each picture alone" })
    }
  })
)

/** The network kept in the repository (see examples/models/NOTICE.md). */
const bundled = fileURLToPath(new URL("models/esrgan_slim_x2.onnx", import.meta.url))

export const Config = Schema.Struct({
  width: Param.int({ min: 8, max: 320, default: 128, description: "Width of the small picture (output: twice it)" }),
  height: Param.int({ min: 8, max: 180, default: 72, description: "Height of the small picture (output: twice it)" }),
  fps: Param.int({ min: 1, max: 60, default: 30, description: "Frames per second of the waiting pattern" }),
  modelPath: Param.string({ default: bundled, description: "The x2 super-resolution network (ONNX)" }),
  threads: Param.int({ min: 1, max: 16, default: 1, description: "onnxruntime's intra-op threads" })
})

/** What the commands change. */
export interface Settings {
  readonly view: View
  readonly amount: number
}

export const initial: Settings = { view: "network", amount: 0.25 }

/**
 * The small picture: each of its pixels the average of the camera pixels it covers (an area resize, in integers),
 * RGB. A camera picture smaller than that is sampled instead (nearest pixel).
 */
export const shrink = (frame: Frame.Frame, width: number, height: number): Frame.Frame => {
  const out = new Uint8Array(width * height * 3)
  const source = frame.data
  if (frame.width < width || frame.height < height) {
    for (let y = 0, o = 0; y < height; y++) {
      const row = Math.floor((y * frame.height) / height) * frame.width
      for (let x = 0; x < width; x++, o += 3) {
        const i = (row + Math.floor((x * frame.width) / width)) * 3
        out[o] = source[i]!
        out[o + 1] = source[i + 1]!
        out[o + 2] = source[i + 2]!
      }
    }
    return { width, height, data: out }
  }
  // Which small column each camera column falls in (as a byte offset), and how many fall in each.
  const target = new Int32Array(frame.width)
  const counts = new Uint32Array(width)
  for (let x = 0; x < frame.width; x++) {
    const column = Math.floor((x * width) / frame.width)
    target[x] = column * 3
    counts[column]!++
  }
  const sums = new Uint32Array(width * 3)
  for (let y = 0, r = 0; y < height; y++) {
    sums.fill(0)
    let rows = 0
    for (; r < frame.height && Math.floor((r * height) / frame.height) === y; r++, rows++) {
      for (let x = 0, i = r * frame.width * 3; x < frame.width; x++, i += 3) {
        const c = target[x]!
        sums[c] = sums[c]! + source[i]!
        sums[c + 1] = sums[c + 1]! + source[i + 1]!
        sums[c + 2] = sums[c + 2]! + source[i + 2]!
      }
    }
    for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
      const n = rows * counts[x]!
      out[o] = (sums[x * 3]! + (n >> 1)) / n
      out[o + 1] = (sums[x * 3 + 1]! + (n >> 1)) / n
      out[o + 2] = (sums[x * 3 + 2]! + (n >> 1)) / n
    }
  }
  return { width, height, data: out }
}

/** The network's input for a small picture: planar float RGB in [0, 255], `[1, 3, height, width]`. */
export const toInput = (small: Frame.Frame): Float32Array => {
  const plane = small.width * small.height
  const input = new Float32Array(3 * plane)
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    input[i] = small.data[j]!
    input[plane + i] = small.data[j + 1]!
    input[2 * plane + i] = small.data[j + 2]!
  }
  return input
}

/** A picture at twice the size by bilinear interpolation (pixel centres aligned, in integers): the baseline. */
export const bilinear = (small: Frame.Frame): Frame.Frame => {
  const width = small.width * 2
  const height = small.height * 2
  const out = new Uint8Array(width * height * 3)
  // At twice the size each output pixel sits a quarter of a pixel from its nearest source pixel: weights 3/4 and 1/4.
  const near = (i: number, size: number) => Math.min(Math.max(i % 2 === 0 ? (i >> 1) - 1 : (i >> 1) + 1, 0), size - 1)
  const source = small.data
  for (let y = 0, o = 0; y < height; y++) {
    const y0 = (y >> 1) * small.width * 3
    const y1 = near(y, small.height) * small.width * 3
    for (let x = 0; x < width; x++, o += 3) {
      const x0 = (x >> 1) * 3
      const x1 = near(x, small.width) * 3
      for (let k = 0; k < 3; k++) {
        out[o + k] = (9 * source[y0 + x0 + k]! + 3 * source[y0 + x1 + k]! + 3 * source[y1 + x0 + k]! +
          source[y1 + x1 + k]! + 8) >> 4
      }
    }
  }
  return { width, height, data: out }
}

/** The small picture at twice the size, each pixel a 2x2 block: what the network sees. */
export const blocks = (small: Frame.Frame): Frame.Frame => {
  const width = small.width * 2
  const height = small.height * 2
  const out = new Uint8Array(width * height * 3)
  for (let y = 0, o = 0; y < height; y++) {
    const row = (y >> 1) * small.width * 3
    for (let x = 0; x < width; x++, o += 3) {
      const i = row + (x >> 1) * 3
      out[o] = small.data[i]!
      out[o + 1] = small.data[i + 1]!
      out[o + 2] = small.data[i + 2]!
    }
  }
  return { width, height, data: out }
}

/**
 * One step of the session's memory: `memory` (planar float, the network's layout) becomes `amount` of itself and
 * `1 - amount` of the new picture; the first picture is taken as it is. Returns the memory.
 */
export const remember = (memory: Float32Array | undefined, picture: Float32Array, amount: number): Float32Array => {
  if (memory === undefined || memory.length !== picture.length) return picture.slice()
  const keep = Math.min(Math.max(amount, 0), 1)
  for (let i = 0; i < memory.length; i++) memory[i] = memory[i]! * keep + picture[i]! * (1 - keep)
  return memory
}

/** The network's planar float output as an RGB frame (rounded, clamped to 0-255). */
export const toFrame = (planes: Float32Array, width: number, height: number): Frame.Frame => {
  const plane = width * height
  const out = new Uint8Array(plane * 3)
  // A Uint8ClampedArray rounds and clamps each value as it is stored.
  const clamped = new Uint8ClampedArray(out.buffer)
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    clamped[j] = planes[i]!
    clamped[j + 1] = planes[plane + i]!
    clamped[j + 2] = planes[2 * plane + i]!
  }
  return { width, height, data: out }
}

/** The left half of `left` and the right half of `right` (same size), with a white line between. */
export const sideBySide = (left: Frame.Frame, right: Frame.Frame): Frame.Frame => {
  const { height, width } = left
  const out = right.data.slice()
  const half = width >> 1
  for (let y = 0; y < height; y++) {
    const row = y * width * 3
    out.set(left.data.subarray(row, row + half * 3), row)
    out.fill(255, row + (half - 1) * 3, row + (half + 1) * 3)
  }
  return { width, height, data: out }
}

/** The picture before any camera frame: a checkerboard that drifts, so motion shows. */
export const waiting = (width: number, height: number, t: number): Frame.Frame => {
  const data = new Uint8Array(width * height * 3)
  const shift = Math.floor(t * 8)
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) data.fill(((x + shift) >> 3) % 2 === (y >> 3) % 2 ? 70 : 30, o, o + 3)
  }
  return { width, height, data }
}

/** What the sessions need of the network: a small picture in (planar, [0, 255]), one twice its size out. */
export interface Upscaler {
  readonly upscale: (input: Float32Array, width: number, height: number) => Effect.Effect<Float32Array>
}

/** Loads the network once per process; every session of the process calls it. */
export const loadNetwork = (config: typeof Config.Type): Effect.Effect<Upscaler, Error, Scope.Scope> =>
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
    return {
      upscale: (picture, width, height) =>
        Effect.promise(async () => {
          const result = await network.run({ [input!]: new ort.Tensor("float32", picture, [1, 3, height, width]) })
          return result[output!]!.data as Float32Array
        })
    }
  })

/** The model around a network (`loadNetwork`; the benchmark swaps in a copy to measure the runtime's own share). */
export const make = (load: (config: typeof Config.Type) => Effect.Effect<Upscaler, unknown, Scope.Scope>) =>
  Model.make({
    name: "upscale",
    description: "Draws a small picture of the viewer's webcam at twice the size with a super-resolution network",
    commands: Commands,
    inputs: { webcam: Input.video({ description: "Your camera", maxWidth: 1280, maxHeight: 720 }) },
    config: Config,
    load,
    session: ({ config, ctx, loaded }) =>
      Effect.gen(function*() {
        const { height, width } = config
        const webcam = ctx.input("webcam")
        const settings = yield* Ref.make(initial)
        // This session's memory of the pictures it made (the network's layout, twice the small picture's size).
        const memory = yield* Ref.make<Float32Array | undefined>(undefined)
        const set = (patch: Partial<Settings>) =>
          Effect.flatMap(
            Ref.updateAndGet(settings, (s) => ({ ...s, ...patch })),
            (s) => ctx.send({ type: "state", ...s })
          )

        /** One camera picture in, one output frame out. */
        const upscale = (camera: Input.InputFrame) =>
          Effect.gen(function*() {
            const now = yield* Ref.get(settings)
            const small = shrink(camera, width, height)
            if (now.view === "input") return blocks(small)
            if (now.view === "bilinear") return bilinear(small)
            const sharp = yield* loaded.upscale(toInput(small), width, height)
            const kept = remember(yield* Ref.get(memory), sharp, now.amount)
            yield* Ref.set(memory, kept)
            const network = toFrame(kept, width * 2, height * 2)
            return now.view === "compare" ? sideBySide(network, bilinear(small)) : network
          })

        return {
          handlers: {
            set_view: ({ view }) => set({ view }),
            set_smoothing: ({ amount }) => set({ amount })
          },
          run: Effect.gen(function*() {
            for (let t = 0; Option.isNone(yield* webcam.latest); t++) {
              yield* ctx.emit(waiting(width * 2, height * 2, t / config.fps))
              yield* Effect.sleep(1000 / config.fps)
            }
            yield* Stream.runForEach(webcam.frames, (camera) => Effect.flatMap(upscale(camera), ctx.emit))
          })
        }
      })
  })

export const model = make(loadNetwork)

export default model

runIfMain(import.meta, model)
