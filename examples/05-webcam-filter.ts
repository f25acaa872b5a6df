/**
 * 05: video to video. The viewer's webcam goes in (an input track), a filtered picture comes out: edges, a pencil
 * sketch or a poster look, mixed with the camera by a strength slider. Until the first camera frame arrives it shows
 * a moving test pattern. `npx tsx examples/05-webcam-filter.ts`, then send frames on the `webcam` track (WebRTC, or a
 * WebSocket binary message: the 24-byte header with the track's index, then RGB).
 */
import { Effect, Option, Ref, Schema } from "effect"
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
  for (let y = 0; y < height; y++) {
    const row = Math.floor((y * frame.height) / height) * frame.width
    for (let x = 0; x < width; x++) {
      const from = (row + Math.floor((x * frame.width) / width)) * 3
      const to = (y * width + x) * 3
      out[to] = frame.data[from]!
      out[to + 1] = frame.data[from + 1]!
      out[to + 2] = frame.data[from + 2]!
    }
  }
  return { width, height, data: out }
}

/** Sobel gradient magnitude of the luma, 0-255 per pixel (0 on the border). */
export const edgeMagnitude = (frame: Frame.Frame): Uint8Array => {
  const { data, height, width } = frame
  const luma = new Float32Array(width * height)
  for (let i = 0; i < width * height; i++) {
    luma[i] = 0.299 * data[i * 3]! + 0.587 * data[i * 3 + 1]! + 0.114 * data[i * 3 + 2]!
  }
  const out = new Uint8Array(width * height)
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const at = (dx: number, dy: number) => luma[(y + dy) * width + x + dx]!
      const gx = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1)
      const gy = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1)
      out[y * width + x] = Math.min(255, Math.hypot(gx, gy) / 4)
    }
  }
  return out
}

/** The filter alone, at full strength. */
const effect = (frame: Frame.Frame, filter: Filter): Uint8Array => {
  const n = frame.width * frame.height
  const out = new Uint8Array(n * 3)
  if (filter === "posterize") {
    for (let i = 0; i < n * 3; i++) out[i] = Math.round(frame.data[i]! / 85) * 85
    return out
  }
  const edges = edgeMagnitude(frame)
  for (let i = 0; i < n; i++) {
    const value = filter === "edges" ? edges[i]! : 255 - edges[i]!
    out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = value
  }
  return out
}

/** One output frame: the camera picture scaled to the output size, mixed with its filtered self by `strength`. */
export const apply = (camera: Frame.Frame, settings: Settings, width: number, height: number): Frame.Frame => {
  const base = resize(camera, width, height)
  if (settings.strength <= 0) return base
  const filtered = effect(base, settings.filter)
  const s = Math.min(1, settings.strength)
  const data = base.data
  for (let i = 0; i < data.length; i++) data[i] = Math.round(data[i]! * (1 - s) + filtered[i]! * s)
  return base
}

/** The picture before any camera frame: colour bars with a bright bar sweeping across, so motion is visible. */
export const testPattern = (width: number, height: number, t: number): Frame.Frame => {
  const bars = [[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255]]
  const sweep = Math.floor((t * 0.25 % 1) * width)
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bar = bars[Math.floor((x * bars.length) / width)]!
      const lit = Math.abs(x - sweep) < Math.max(2, width / 40)
      const i = (y * width + x) * 3
      for (let c = 0; c < 3; c++) data[i + c] = lit ? 255 : y > height * 0.8 ? bar[c]! >> 2 : bar[c]! * 0.75
    }
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
        run: Effect.gen(function*() {
          for (let frame = 0;; frame++) {
            const camera = yield* webcam.latest
            const now = yield* Ref.get(settings)
            yield* ctx.emit(Option.match(camera, {
              onNone: () => testPattern(config.width, config.height, frame / config.fps),
              onSome: (picture) => apply(picture, now, config.width, config.height)
            }))
            yield* Effect.sleep(1000 / config.fps)
          }
        })
      }
    })
})

export default model

runIfMain(import.meta, model)
