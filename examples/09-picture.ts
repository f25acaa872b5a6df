/**
 * 07: a world that starts from your picture. Like the image-to-video world models (Matrix-Game, Yume, SANA-WM), a
 * session starts from an uploaded image: `set_picture` takes a PNG, JPEG or WebP file (`Param.file`), and the model
 * then drifts its camera slowly over it, panning with `pan` and zooming with `set_zoom`. Upload from the official SDK
 * with `const ref = await reactor.uploadFile(file)` then `reactor.sendCommand("set_picture", { picture: ref })`.
 * `npx reactor run examples/09-picture.ts`.
 */
import { Effect, Ref, Schedule, Schema } from "effect"
import { Command, Frame, Model, Param, SessionContext } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"
import sharp from "sharp"

export const Commands = Command.group(
  Command.make("set_picture", {
    description: "The picture the world starts from",
    payload: {
      picture: Param.file({
        description: "A PNG, JPEG or WebP picture",
        accept: ["image/png", "image/jpeg", "image/webp"],
        maxBytes: 8 * 1024 * 1024
      })
    }
  }),
  Command.make("pan", {
    description: "Move the camera over the picture",
    payload: {
      direction: Param.literal(["left", "right", "up", "down", "none"], { description: "Which way; none holds still" })
    }
  }),
  Command.make("set_zoom", {
    description: "How close the camera is",
    payload: { zoom: Param.number({ min: 1, max: 3, default: 1, description: "1 = the whole picture" }) }
  })
)

export const Config = Schema.Struct({
  width: Param.int({ min: 16, max: 1920, default: 320, description: "Frame width" }),
  height: Param.int({ min: 16, max: 1080, default: 180, description: "Frame height" }),
  fps: Param.int({ min: 1, max: 60, default: 24, description: "Frames per second" })
})

/** A decoded picture: RGB at the frame's size. */
interface Picture {
  readonly width: number
  readonly height: number
  readonly rgb: Uint8Array
}

/** Where the camera looks: its centre (0..1 of the picture), its zoom, and which way it pans. */
interface Camera {
  readonly x: number
  readonly y: number
  readonly zoom: number
  readonly pan: "left" | "right" | "up" | "down" | "none"
}

/** A soft gradient to show until a picture arrives. */
const placeholder = (width: number, height: number): Picture => {
  const rgb = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3
      rgb[i] = 40 + 80 * x / width
      rgb[i + 1] = 50 + 60 * y / height
      rgb[i + 2] = 90
    }
  }
  return { width, height, rgb }
}

/** Decodes an uploaded file into RGB covering the frame (libvips through sharp). */
const decode = (bytes: Uint8Array, width: number, height: number) =>
  Effect.tryPromise({
    try: async (): Promise<Picture> => {
      const rgb = await sharp(bytes).removeAlpha().resize(width, height, { fit: "cover" }).raw().toBuffer()
      return { width, height, rgb: new Uint8Array(rgb.buffer, rgb.byteOffset, rgb.byteLength) }
    },
    catch: () => new Error("the file is not a picture this model can read")
  })

/** One frame: the picture seen through the camera (nearest pixel). */
const render = (picture: Picture, camera: Camera, width: number, height: number): Frame.Frame => {
  const data = new Uint8Array(width * height * 3)
  const span = 1 / camera.zoom
  const left = Math.min(1 - span, Math.max(0, camera.x - span / 2))
  const top = Math.min(1 - span, Math.max(0, camera.y - span / 2))
  for (let y = 0; y < height; y++) {
    const sy = Math.min(picture.height - 1, Math.floor((top + span * y / height) * picture.height))
    for (let x = 0; x < width; x++) {
      const sx = Math.min(picture.width - 1, Math.floor((left + span * x / width) * picture.width))
      const from = (sy * picture.width + sx) * 3
      const to = (y * width + x) * 3
      data[to] = picture.rgb[from]!
      data[to + 1] = picture.rgb[from + 1]!
      data[to + 2] = picture.rgb[from + 2]!
    }
  }
  return Frame.make(width, height, data)
}

const step = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1], none: [0, 0] } as const

export const model = Model.make(Commands, {
  name: "picture-world",
  description: "A world that starts from an uploaded picture, explored with a camera",
  config: Config,
  frameSize: { width: 320, height: 180 },
  session: ({ config }) =>
    Effect.gen(function*() {
      const ctx = yield* SessionContext
      const picture = yield* Ref.make(placeholder(config.width, config.height))
      const camera = yield* Ref.make<Camera>({ x: 0.5, y: 0.5, zoom: 1, pan: "none" })
      return {
        handlers: {
          set_picture: ({ picture: file }) =>
            Effect.gen(function*() {
              yield* Ref.set(picture, yield* decode(file.bytes, config.width, config.height))
              yield* ctx.send({ type: "picture", name: file.name, mimeType: file.mimeType, bytes: file.bytes.length })
            }),
          pan: ({ direction }) => Ref.update(camera, (c) => ({ ...c, pan: direction })),
          set_zoom: ({ zoom }) => Ref.update(camera, (c) => ({ ...c, zoom }))
        },
        // A frame per tick of a fixed schedule: rendering time is part of the frame's, so the rate holds.
        run: Effect.gen(function*() {
          const c = yield* Ref.updateAndGet(camera, (c) => {
            const [dx, dy] = step[c.pan]
            const clamp = (v: number) => Math.min(1, Math.max(0, v))
            return { ...c, x: clamp(c.x + dx * 0.2 / config.fps), y: clamp(c.y + dy * 0.2 / config.fps) }
          })
          yield* ctx.emit(render(yield* Ref.get(picture), c, config.width, config.height))
        }).pipe(Effect.repeat(Schedule.fixed(1000 / config.fps)))
      }
    })
})

export default model

runIfMain(import.meta, model)
