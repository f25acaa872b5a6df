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
 * Per frame this file's own work is integer arithmetic on typed arrays at the mask's resolution where it can be:
 * the network's input through a lookup table, the edge's ramp on the 256x256 mask, and the composite made per mask
 * cell (whole-person and whole-background runs copied as byte ranges, only the edge's pixels blended), with the
 * session's buffers reused. One 640x360 frame in blur mode, CPU (micro-bench at load 9): 11.0 ms with float
 * arithmetic per output pixel (before), 3.9 ms now (colour mode 1.5 ms).
 *
 * Measured end to end (onnxruntime-node 1.30, 1 intra-op thread, 2-core machine shared with other jobs;
 * `npm run bench -- --only=neural-network,neural,neural-batching`, bench/neural.ts). The probe measured the
 * network at 3.8 ms per 256x256 picture on a quiet machine. One session, one camera frame in flight:
 *   before (float per-pixel code), load 3-5: 16.1 frames/s (p50 53.4 ms, 33.5 ms of server CPU per frame); with a
 *   copy instead of the network 17.1 frames/s (29.0 ms CPU): the per-frame JavaScript set the rate;
 *   now, load ~20: 16.1 frames/s (p50 47.8 ms, 30.4 ms CPU), copy 24.8 frames/s (20.1 ms CPU); with the buffers
 *   reused, load 18-21: 6.65 frames/s (p50 139 ms, 25.3 ms CPU, 8.4 ms of it the server's main thread), copy 8.67
 *   (20.1 ms CPU). At these loads the wall-clock figures swing 2-3x from one minute to the next; rerun quietly.
 *   Quiet machine (load 0), before the pacer fix below: 22.1 frames/s (p50 41.4 ms, 19.4 ms CPU), copy 14.5 ms CPU.
 *   After it (the runtime's pacer no longer counts the wait for the next camera frame as generation time, which had
 *   held each output a median 17.6 ms in a closed loop; bufferutil; the batch buffer reused), load 6-8: 35.1
 *   frames/s (p50 20.3 ms, 14.7 ms CPU, 4.0 ms of it the main thread), copy 54.4 frames/s (12.3 ms CPU); quiet
 *   (load 1.8, 2026-12-04): 48.2 frames/s (p50 12.9 ms, 15.3 ms CPU, 3.0 ms the main thread), copy 54.6 (13.0 ms).
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

/** For each of `to` output columns, the byte offset of its nearest source column among `from` (RGB). */
const columnsOf = (from: number, to: number): Int32Array => {
  const columns = new Int32Array(to)
  for (let x = 0; x < to; x++) columns[x] = Math.floor(((x + 0.5) * from) / to) * 3
  return columns
}

/** A picture of any size scaled to `width` x `height` (nearest neighbour), in a buffer of its own. */
export const resize = (frame: Frame.Frame, width: number, height: number): Frame.Frame => {
  if (frame.width === width && frame.height === height) return Frame.clone(frame)
  const out = new Uint8Array(width * height * 3)
  const columns = columnsOf(frame.width, width)
  const source = frame.data
  for (let y = 0, to = 0; y < height; y++) {
    const row = Math.floor(((y + 0.5) * frame.height) / height) * frame.width * 3
    for (let x = 0; x < width; x++, to += 3) {
      const from = row + columns[x]!
      out[to] = source[from]!
      out[to + 1] = source[from + 1]!
      out[to + 2] = source[from + 2]!
    }
  }
  return { width, height, data: out }
}

/** Each byte value over 255, as float32: one lookup per channel instead of a division. */
const unit = Float32Array.from({ length: 256 }, (_, v) => v / 255)

/** The network's input for a picture: stretched to 256x256, planar float RGB in [0, 1] (written into `input`). */
export const toInput = (frame: Frame.Frame, input = new Float32Array(3 * side * side)): Float32Array => {
  const plane = side * side
  const columns = columnsOf(frame.width, side)
  const source = frame.data
  for (let y = 0, to = 0; y < side; y++) {
    const row = Math.floor(((y + 0.5) * frame.height) / side) * frame.width * 3
    for (let x = 0; x < side; x++, to++) {
      const from = row + columns[x]!
      input[to] = unit[source[from]!]!
      input[plane + to] = unit[source[from + 1]!]!
      input[2 * plane + to] = unit[source[from + 2]!]!
    }
  }
  return input
}

/** Full opacity in the integer alphas below: alpha is in 256ths, 0 (background) to 256 (person). */
export const opaque = 256

/**
 * Bilinear sampling of a `from`-long axis at `to` points (pixel centres aligned): for each output position the two
 * source indices and the second one's weight in 256ths.
 */
const bilinearAxis = (from: number, to: number) => {
  const first = new Int32Array(to)
  const second = new Int32Array(to)
  const weight = new Int32Array(to)
  for (let i = 0; i < to; i++) {
    const s = Math.min(Math.max(((i + 0.5) * from) / to - 0.5, 0), from - 1)
    first[i] = Math.floor(s)
    second[i] = Math.min(first[i]! + 1, from - 1)
    weight[i] = Math.round((s - first[i]!) * 256)
  }
  return { first, second, weight }
}

/** The network's 256x256 probabilities through the edge's ramp (width `softness`, centred on `threshold`), in 256ths. */
export const rampOf = (
  mask: Float32Array,
  settings: Pick<Settings, "threshold" | "softness">,
  ramp = new Uint16Array(side * side)
): Uint16Array => {
  const soft = Math.max(settings.softness, 1e-3)
  const low = settings.threshold - soft / 2
  const scale = opaque / soft
  for (let i = 0; i < ramp.length; i++) {
    const a = (mask[i]! - low) * scale
    ramp[i] = a <= 0 ? 0 : a >= opaque ? opaque : (a + 0.5) | 0
  }
  return ramp
}

/** One output pixel's alpha from the four ramp values around it (bilinear, in integers). */
const mix = (a: number, b: number, c: number, d: number, fx: number, fy: number): number =>
  a === b && a === c && a === d
    ? a
    : ((a * (256 - fx) + b * fx) * (256 - fy) + (c * (256 - fx) + d * fx) * fy + 32768) >>> 16

/**
 * How much of each output pixel is the person, in 256ths (0-256): `rampOf` the network's 256x256 probabilities,
 * upsampled bilinearly in integers. (`cutOut` computes the same alphas on the way; this is the plain form.)
 */
export const alphaOf = (
  mask: Float32Array,
  width: number,
  height: number,
  settings: Pick<Settings, "threshold" | "softness">
): Uint16Array => {
  const ramp = rampOf(mask, settings)
  const xs = bilinearAxis(side, width)
  const ys = bilinearAxis(side, height)
  const alpha = new Uint16Array(width * height)
  for (let y = 0, i = 0; y < height; y++) {
    const top = ys.first[y]! * side
    const bottom = ys.second[y]! * side
    for (let x = 0; x < width; x++, i++) {
      const [x0, x1] = [xs.first[x]!, xs.second[x]!]
      alpha[i] = mix(
        ramp[top + x0]!,
        ramp[top + x1]!,
        ramp[bottom + x0]!,
        ramp[bottom + x1]!,
        xs.weight[x]!,
        ys.weight[y]!
      )
    }
  }
  return alpha
}

/**
 * The composite straight from the ramp, with the alphas of `alphaOf` and the blend of `composite`, but the work done
 * per cell of the network's mask rather than per pixel: along each output row, the mask cells whose four corners are
 * all person (or all background) extend one run, copied as a byte range; only the cells at the edge are blended
 * pixel by pixel. The result is byte for byte `composite(camera, background, alphaOf(...))`.
 */
export const cutOut = (camera: Frame.Frame, background: Uint8Array, ramp: Uint16Array): Frame.Frame => {
  const { height, width } = camera
  const source = camera.data
  const out = new Uint8Array(source.length)
  const xs = bilinearAxis(side, width)
  const ys = bilinearAxis(side, height)
  // The output columns whose left neighbour is mask column j: start[j] up to start[j + 1].
  const start = new Int32Array(side + 1)
  for (let j = 0, x = 0; j <= side; j++) {
    while (x < width && xs.first[x]! < j) x++
    start[j] = x
  }
  for (let y = 0; y < height; y++) {
    const top = ys.first[y]! * side
    const bottom = ys.second[y]! * side
    const fy = ys.weight[y]!
    const row = y * width * 3
    let runFrom = 0
    let runValue = -1
    const flush = (to: number) => {
      if (runValue >= 0 && to > runFrom) {
        out.set((runValue === 0 ? background : source).subarray(row + runFrom * 3, row + to * 3), row + runFrom * 3)
      }
    }
    for (let j = 0; j < side; j++) {
      const x0 = start[j]!
      const x1 = start[j + 1]!
      if (x0 === x1) continue
      const next = j + 1 < side ? j + 1 : j
      const a = ramp[top + j]!
      if (
        (a === 0 || a === opaque) && ramp[top + next] === a && ramp[bottom + j] === a && ramp[bottom + next] === a
      ) {
        if (a !== runValue) {
          flush(x0)
          runFrom = x0
          runValue = a
        }
        continue
      }
      flush(x0)
      runValue = -1
      for (let x = x0; x < x1; x++) {
        const alpha = mix(
          a,
          ramp[top + xs.second[x]!]!,
          ramp[bottom + j]!,
          ramp[bottom + xs.second[x]!]!,
          xs.weight[x]!,
          fy
        )
        const k = row + x * 3
        const rest = opaque - alpha
        out[k] = (source[k]! * alpha + background[k]! * rest + 128) >> 8
        out[k + 1] = (source[k + 1]! * alpha + background[k + 1]! * rest + 128) >> 8
        out[k + 2] = (source[k + 2]! * alpha + background[k + 2]! * rest + 128) >> 8
      }
      runFrom = x1
    }
    flush(width)
  }
  return { width, height, data: out }
}

/** A buffer the blur reuses from call to call (it never leaves `blurred`; JavaScript runs one call at a time). */
let wideScratch = new Uint32Array(0)
const scratch = (length: number): Uint32Array => {
  if (wideScratch.length !== length) wideScratch = new Uint32Array(length)
  return wideScratch
}

/**
 * A strong blur: the picture averaged over 8x8 cells (integer sums of a quarter of their pixels), then spread back bilinearly in two passes
 * (along the rows at the cells' resolution, then down the columns), all in integers.
 */
export const blurred = (frame: Frame.Frame, out = new Uint8Array(frame.data.length)): Uint8Array => {
  const { data, height, width } = frame
  const cell = 8
  const cw = Math.ceil(width / cell)
  const ch = Math.ceil(height / cell)
  // Every other pixel of every other row is enough for an 8x8 mean (16 of its 64 pixels).
  const sums = new Uint32Array(cw * ch * 3)
  const counts = new Uint32Array(cw * ch)
  for (let y = 0; y < height; y += 2) {
    const row = (y >> 3) * cw
    for (let x = 0, i = y * width * 3; x < width; x += 2, i += 6) {
      const c = row + (x >> 3)
      sums[c * 3] = sums[c * 3]! + data[i]!
      sums[c * 3 + 1] = sums[c * 3 + 1]! + data[i + 1]!
      sums[c * 3 + 2] = sums[c * 3 + 2]! + data[i + 2]!
      counts[c]!++
    }
  }
  const means = new Uint8Array(sums.length)
  for (let c = 0; c < counts.length; c++) {
    for (let k = 0; k < 3; k++) means[c * 3 + k] = Math.round(sums[c * 3 + k]! / counts[c]!)
  }
  // Along the rows: each cell row spread to the full width, in 256ths.
  const xs = bilinearAxis(cw, width)
  const rowBytes = width * 3
  const wide = scratch(ch * rowBytes)
  for (let cy = 0; cy < ch; cy++) {
    for (let x = 0, j = cy * rowBytes; x < width; x++, j += 3) {
      const c0 = (cy * cw + xs.first[x]!) * 3
      const c1 = (cy * cw + xs.second[x]!) * 3
      const fx = xs.weight[x]!
      wide[j] = means[c0]! * (256 - fx) + means[c1]! * fx
      wide[j + 1] = means[c0 + 1]! * (256 - fx) + means[c1 + 1]! * fx
      wide[j + 2] = means[c0 + 2]! * (256 - fx) + means[c1 + 2]! * fx
    }
  }
  // Down the columns.
  const ys = bilinearAxis(ch, height)
  for (let y = 0, i = 0; y < height; y++) {
    const top = ys.first[y]! * rowBytes
    const bottom = ys.second[y]! * rowBytes
    const fy = ys.weight[y]!
    for (let j = 0; j < rowBytes; j++, i++) {
      out[i] = (wide[top + j]! * (256 - fy) + wide[bottom + j]! * fy + 32768) >>> 16
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

/**
 * The composite: the camera where `alpha` is 256, the background where it is 0, blended between (in 256ths). Runs of
 * whole person or whole background are copied as byte ranges; only the edge's pixels are blended one by one.
 */
export const composite = (camera: Frame.Frame, background: Uint8Array, alpha: Uint16Array): Frame.Frame => {
  const out = new Uint8Array(camera.data.length)
  const source = camera.data
  const n = alpha.length
  for (let i = 0; i < n;) {
    const a = alpha[i]!
    if (a === opaque || a === 0) {
      let end = i + 1
      while (end < n && alpha[end] === a) end++
      out.set((a === 0 ? background : source).subarray(i * 3, end * 3), i * 3)
      i = end
    } else {
      const k = i * 3
      const b = opaque - a
      out[k] = (source[k]! * a + background[k]! * b + 128) >> 8
      out[k + 1] = (source[k + 1]! * a + background[k + 1]! * b + 128) >> 8
      out[k + 2] = (source[k + 2]! * a + background[k + 2]! * b + 128) >> 8
      i++
    }
  }
  return { width: camera.width, height: camera.height, data: out }
}

/** A picture of one colour. */
export const filled = (width: number, height: number, colour: Settings["colour"]): Uint8Array => {
  const out = new Uint8Array(width * height * 3)
  out[0] = colour.r
  out[1] = colour.g
  out[2] = colour.b
  // Doubling copies: log2(pixels) native copies instead of a store per byte.
  for (let filledBytes = 3; filledBytes < out.length; filledBytes *= 2) {
    out.copyWithin(filledBytes, 0, Math.min(filledBytes, out.length - filledBytes))
  }
  return out
}

/** The background a mode puts behind the person (undefined for none). */
export const backgroundFor = (
  settings: Settings,
  camera: Frame.Frame,
  picture: Uint8Array,
  into?: Uint8Array<ArrayBuffer>
): Uint8Array | undefined => {
  switch (settings.mode) {
    case "blur":
      return blurred(camera, into)
    case "colour":
      return filled(camera.width, camera.height, settings.colour)
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
    // One buffer for the largest batch, reused: batches run one at a time, and a batch of n uses its first n pictures.
    const gathered = new Float32Array(config.maxBatch * 3 * plane)
    const batcher = yield* Batch.make({
      maxBatch: config.maxBatch,
      maxWaitMs: config.maxWaitMs,
      // One call for the pictures of every session waiting: [n, 3, 256, 256] in, [n, 1, 256, 256] out.
      run: (pictures: ReadonlyArray<Float32Array>) =>
        Effect.promise(async () => {
          // A batch of one goes in as it is; more are laid one after the other.
          const batch = pictures.length === 1 ? pictures[0]! : gathered.subarray(0, pictures.length * 3 * plane)
          if (pictures.length > 1) pictures.forEach((picture, i) => batch.set(picture, i * 3 * plane))
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
        const buffers = {
          input: new Float32Array(3 * side * side),
          ramp: new Uint16Array(side * side),
          blur: new Uint8Array(width * height * 3)
        }
        const set = (patch: Partial<Settings>) =>
          Effect.flatMap(
            Ref.updateAndGet(settings, (s) => ({ ...s, ...patch })),
            (s) => ctx.send({ type: "state", ...s })
          )

        /** One camera picture in, one output frame out. */
        const replace = (camera: Input.InputFrame) =>
          Effect.gen(function*() {
            const now = yield* Ref.get(settings)
            if (now.mode === "none") return resize(camera, width, height)
            // Only read from here on: the camera picture itself when it has the output's size, no copy.
            const base = camera.width === width && camera.height === height ? camera : resize(camera, width, height)
            // The session's own buffers, reused frame after frame (the output frame is new each time: it is handed over).
            const mask = yield* loaded.segment(toInput(camera, buffers.input))
            const background = backgroundFor(now, base, picture, buffers.blur)!
            return cutOut(base, background, rampOf(mask, now, buffers.ramp))
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
