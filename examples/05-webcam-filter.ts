/**
 * 05: video to video. The viewer's webcam goes in (an input track), a filtered picture comes out: edges, a pencil
 * sketch or a poster look, mixed with the camera by a strength slider. Until the first camera frame arrives it shows
 * a moving test pattern. `npx tsx examples/05-webcam-filter.ts`, then send frames on the `webcam` track (WebRTC, or a
 * WebSocket binary message: the 24-byte header with the track's index, then RGB).
 *
 * A filter must fit in a frame's budget (33 ms at 30 fps, with the runtime's share): the pixel loops use integer
 * arithmetic on typed arrays, with nothing allocated per pixel, and frames follow a fixed schedule. One 640x360
 * frame before (a closure and `Math.hypot` per pixel, float luma and mixing) and after, CPU ms per frame on 2 shared
 * cores (BENCHMARKS.md, issue 22): edges 132 -> 4.2, sketch 111 -> 5.3, posterize 14 -> 2.5; wall-clock medians at
 * load 7-8: edges 165 -> 5.5, sketch 165 -> 5.6, posterize 18 -> 5.8.
 */
import { Effect, Option, Ref, Schedule, Schema } from "effect"
import { Command, Frame, Input, Model, Param } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

export const filters = ["edges", "sketch", "posterize"] as const
export type Filter = (typeof filters)[number]

export const Commands = Command.group(
  Command.make("set_strength", {
    description: "How much of the filter is mixed into the camera picture",
    payload: {
      strength: Param.number({ min: 0, max: 1, default: 0.8, description: "0 = the camera as is, 1 = all filter" })
    }
  }),
  Command.make("set_filter", {
    description: "Which filter to apply",
    payload: { filter: Param.literal(filters, { description: "edges, pencil sketch, or poster colors" }) }
  })
)

export const Config = Schema.Struct({
  width: Param.int({ min: 16, max: 1920, default: 640, description: "Output width" }),
  height: Param.int({ min: 16, max: 1080, default: 360, description: "Output height" }),
  fps: Param.int({ min: 1, max: 60, default: 30, description: "Output frames per second" })
})

/** The filter settings the commands change. */
export interface Settings {
  readonly filter: Filter
  readonly strength: number
}

export const initial: Settings = { filter: "edges", strength: 0.8 }

/** A picture of any size scaled to `width` x `height` (nearest neighbour: cheap, and enough for a filter's input). */
export const resize = (frame: Frame.Frame, width: number, height: number): Frame.Frame => {
  if (frame.width === width && frame.height === height) return Frame.clone(frame)
  const out = new Uint8Array(width * height * 3)
  // Each output column's source offset, worked out once per frame rather than per pixel.
  const columns = new Int32Array(width)
  for (let x = 0; x < width; x++) columns[x] = Math.floor((x * frame.width) / width) * 3
  for (let y = 0, to = 0; y < height; y++) {
    const row = Math.floor((y * frame.height) / height) * frame.width * 3
    for (let x = 0; x < width; x++, to += 3) {
      const from = row + columns[x]!
      out[to] = frame.data[from]!
      out[to + 1] = frame.data[from + 1]!
      out[to + 2] = frame.data[from + 2]!
    }
  }
  return { width, height, data: out }
}

/**
 * Sobel gradient magnitude of the luma, 0-255 per pixel (0 on the border). Integer arithmetic on typed arrays: the
 * luma is kept in 16ths (Rec. 601 weights scaled to 2^16), so the result is within 1 of the floating-point formula.
 */
export const edgeMagnitude = (frame: Frame.Frame): Uint8Array => {
  const { data, height, width } = frame
  const luma = new Uint16Array(width * height)
  for (let i = 0, j = 0; i < luma.length; i++, j += 3) {
    luma[i] = (19595 * data[j]! + 38470 * data[j + 1]! + 7471 * data[j + 2]! + 2048) >> 12
  }
  const out = new Uint8Array(width * height)
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1, i = y * width + 1; x < width - 1; x++, i++) {
      const nw = luma[i - width - 1]!, n = luma[i - width]!, ne = luma[i - width + 1]!
      const w = luma[i - 1]!, e = luma[i + 1]!
      const sw = luma[i + width - 1]!, s = luma[i + width]!, se = luma[i + width + 1]!
      const gx = ne + 2 * e + se - nw - 2 * w - sw
      const gy = sw + 2 * s + se - nw - 2 * n - ne
      // |g| / 4 in whole levels; the luma is in 16ths, so divide by 64.
      const magnitude = Math.sqrt(gx * gx + gy * gy) / 64
      out[i] = magnitude >= 255 ? 255 : magnitude
    }
  }
  return out
}

/** Each channel value's poster level: the nearest of 0, 85, 170, 255. */
const posterLevels = Uint8Array.from({ length: 256 }, (_, c) => Math.round(c / 85) * 85)

/**
 * One output frame: the camera picture scaled to the output size, mixed with its filtered self by `strength`. Mixing
 * is in 256ths (`strength` 1 gives the filter exactly); nothing is allocated per pixel.
 */
export const apply = (camera: Frame.Frame, settings: Settings, width: number, height: number): Frame.Frame => {
  const base = resize(camera, width, height)
  if (settings.strength <= 0) return base
  const k = Math.round(Math.min(1, settings.strength) * 256)
  const data = base.data
  if (settings.filter === "posterize") {
    // The mixed value depends on the channel value alone: one lookup per byte.
    const mixed = Uint8Array.from(posterLevels, (level, c) => (c * (256 - k) + level * k + 128) >> 8)
    for (let i = 0; i < data.length; i++) data[i] = mixed[data[i]!]!
    return base
  }
  const edges = edgeMagnitude(base)
  const sketch = settings.filter === "sketch" // dark lines on white paper
  for (let i = 0, j = 0; i < edges.length; i++, j += 3) {
    const value = (sketch ? 255 - edges[i]! : edges[i]!) * k + 128
    data[j] = (data[j]! * (256 - k) + value) >> 8
    data[j + 1] = (data[j + 1]! * (256 - k) + value) >> 8
    data[j + 2] = (data[j + 2]! * (256 - k) + value) >> 8
  }
  return base
}

/** The picture before any camera frame: colour bars with a bright bar sweeping across, so motion is visible. */
export const testPattern = (width: number, height: number, t: number): Frame.Frame => {
  const bars = [[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255]]
  const sweep = Math.floor((t * 0.25 % 1) * width)
  const data = new Uint8Array(width * height * 3)
  // Two kinds of row (the bars, and darker bars along the bottom): each is drawn once, then copied down.
  const rowBytes = width * 3
  const drawRow = (y: number, shade: (value: number) => number) => {
    for (let x = 0; x < width; x++) {
      const bar = bars[Math.floor((x * bars.length) / width)]!
      const lit = Math.abs(x - sweep) < Math.max(2, width / 40)
      for (let c = 0; c < 3; c++) data[y * rowBytes + x * 3 + c] = lit ? 255 : shade(bar[c]!)
    }
  }
  const firstLow = Math.floor(height * 0.8) + 1 // the first row below 80% of the height
  drawRow(0, (value) => value * 0.75)
  for (let y = 1; y < Math.min(firstLow, height); y++) data.copyWithin(y * rowBytes, 0, rowBytes)
  if (firstLow < height) drawRow(firstLow, (value) => value >> 2)
  for (let y = firstLow + 1; y < height; y++) {
    data.copyWithin(y * rowBytes, firstLow * rowBytes, (firstLow + 1) * rowBytes)
  }
  return { width, height, data }
}

export const model = Model.make(Commands, {
  name: "webcam-filter",
  description: "Filters the viewer's webcam in real time",
  inputs: { webcam: Input.video({ description: "Your camera", maxWidth: 1280, maxHeight: 720 }) },
  config: Config,
  session: ({ config, ctx }) =>
    Effect.gen(function*() {
      const webcam = ctx.input("webcam")
      const settings = yield* Ref.make(initial)
      let frame = 0
      const set = (patch: Partial<Settings>) =>
        Effect.flatMap(
          Ref.updateAndGet(settings, (s) => ({ ...s, ...patch })),
          (s) => ctx.send({ type: "state", ...s })
        )
      return {
        handlers: {
          set_strength: ({ strength }) => set({ strength }),
          set_filter: ({ filter }) => set({ filter })
        },
        // A frame per tick of a fixed schedule: the filter's own time is part of the frame's, so the rate holds.
        run: Effect.gen(function*() {
          const t = frame++ / config.fps
          const camera = yield* webcam.latest
          const now = yield* Ref.get(settings)
          yield* ctx.emit(Option.match(camera, {
            onNone: () => testPattern(config.width, config.height, t),
            onSome: (picture) => apply(picture, now, config.width, config.height)
          }))
        }).pipe(Effect.repeat(Schedule.fixed(1000 / config.fps)))
      }
    })
})

export default model

runIfMain(import.meta, model)
