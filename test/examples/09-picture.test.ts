import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import sharp from "sharp"
import { model } from "../../examples/09-picture.js"
import { ModelTest } from "../../src/testing/index.js"

const config = { width: 32, height: 18, fps: 10 }
/** A file parameter takes the resolved file, as the runtime hands it over after an upload. */
const file = (bytes: Uint8Array, mimeType = "image/png") => ({ name: "picture.png", mimeType, bytes })
const centre = (frame: { data: Uint8Array }) => {
  const i = (9 * 32 + 16) * 3
  return [...frame.data.subarray(i, i + 3)]
}

describe("examples/09-picture", () => {
  it.live("starts from the uploaded picture: the frames show it", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const png = yield* Effect.promise(() =>
          sharp({ create: { width: 64, height: 36, channels: 3, background: { r: 10, g: 20, b: 250 } } }).png()
            .toBuffer()
        )
        yield* session.send({ type: "set_picture", data: { picture: file(png) } })
        expect((yield* session.messages).at(-1)).toMatchObject({ type: "picture", bytes: png.length })
        // frames buffered before the command still show the placeholder; a later one shows the picture
        const frames = yield* session.frames(12)
        const [r, g, b] = centre(frames.at(-1)!.frame)
        expect(b! > 200 && r! < 60 && g! < 60).toBe(true)
      }), { config }))

  it.live("a file that is not a picture fails the handler, and the session goes on", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          session.send({ type: "set_picture", data: { picture: file(new Uint8Array([1, 2, 3])) } })
        )
        expect(error).toMatchObject({ _tag: "HandlerFailed", command: "set_picture" })
        expect(error.message).toContain("not a picture")
        // a type the parameter does not take never reaches the handler
        const wrong = yield* Effect.flip(
          session.send({ type: "set_picture", data: { picture: file(new Uint8Array([1]), "text/plain") } })
        )
        expect(wrong._tag).toBe("InvalidPayload")
        expect(yield* session.send({ type: "set_zoom", data: { zoom: 2 } })).toMatchObject({ command: "set_zoom" })
      }), { config }))
})
