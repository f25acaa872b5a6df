import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Commands, Look, model, pond } from "../../examples/08-shared-world.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as State from "../../src/model/State.js"
import { ModelTest } from "../../src/testing/index.js"

/** The walker's centre pixel in a frame: yellow where it stands. */
const yellowAt = (frame: { readonly width: number; readonly data: Uint8Array }, x: number, y: number) => {
  const i = (y * frame.width + x) * 3
  return frame.data[i] === 250 && frame.data[i + 1] === 220 && frame.data[i + 2] === 40
}

describe("examples/08-shared-world", () => {
  it("its state's setters come with their bounds, after its own commands", () => {
    expect(Capabilities.toReactor(Capabilities.ofGroup(Commands.merge(State.setters(Look))))).toMatchObject([
      { name: "steer" },
      { name: "where" },
      { name: "teleport", schema: { x: { type: "integer", minimum: 0, maximum: 159 } } },
      { name: "restart" },
      { name: "set_speed", schema: { speed: { type: "number", minimum: 0, maximum: 4, required: true } } },
      { name: "set_palette", schema: { palette: { type: "string", enum: ["day", "night"] } } }
    ])
  })

  it.effect("replies with the walker's place, refuses the pond, counts its viewers, cuts to black", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const here = yield* session.send({ type: "where", data: {} })
        expect(here.result).toEqual({ x: 20, y: 45, viewers: 0 })
        const moved = yield* session.send({ type: "teleport", data: { x: 40, y: 10 } })
        expect(moved.result).toEqual({ x: 40, y: 10 })
        yield* session.advance(100)
        expect(yellowAt((yield* session.bufferedFrames).at(-1)!.frame, 40, 10)).toBe(true)
        const refused = yield* Effect.flip(session.send({ type: "teleport", data: { x: pond.x, y: pond.y } }))
        expect(refused).toMatchObject({ _tag: "Refused", code: "in_the_pond", command: "teleport" })

        yield* session.session.viewer("connected", { id: "a", role: "controller", transport: "test" })
        yield* session.session.viewer("connected", { id: "b", role: "watcher", transport: "test" })
        yield* session.advance(10)
        expect((yield* session.send({ type: "where", data: {} })).result).toMatchObject({ viewers: 2 })
        const messages = yield* session.messages
        expect(messages).toContainEqual({ type: "joined", data: { role: "watcher", viewers: 2 } })
        // the state goes to a viewer as it connects
        expect(messages).toContainEqual(State.runtimeMessage("state", { speed: 1, palette: "day" }))

        yield* session.send({ type: "set_palette", data: { palette: "night" } })
        expect(yield* session.messages).toContainEqual(State.runtimeMessage("state", { speed: 1, palette: "night" }))

        yield* session.send({ type: "restart", data: {} })
        yield* session.advance(100)
        const frames = (yield* session.bufferedFrames).map((out) => out.frame)
        expect(frames.some((frame) => frame.data.every((byte) => byte === 0))).toBe(true)
        expect((yield* session.send({ type: "where", data: {} })).result).toMatchObject({ x: 20, y: 45 })
      })))
})
