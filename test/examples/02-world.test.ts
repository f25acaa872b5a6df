import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Commands, model } from "../../examples/02-world.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import { ModelTest } from "../../src/testing/index.js"
import { commandProperties } from "../fixtures/core-properties.js"

const released = { walk: "none", turn: "none", turnSpeed: 0.5 }
const config = { width: 64, height: 36 }

describe("examples/02-world", () => {
  commandProperties({
    model,
    commands: Commands,
    config,
    advanceMs: 200,
    expected: (commands) =>
      commands.reduce<Record<string, unknown>>((state, { data, type }) => {
        if (type === "move") return { walk: data.direction, turn: state.turn, turnSpeed: state.turnSpeed }
        if (type === "set_camera") return { walk: state.walk, turn: data.direction, turnSpeed: data.speed ?? 0.5 }
        return { ...released, x: 1.5, y: 1.5, pitch: 0 }
      }, released)
  })

  it("binds W A S D and the arrow keys to move, releasing to none", () => {
    const [move, camera] = Capabilities.ofGroup(Commands)
    expect(move!.keys?.press).toMatchObject({
      w: { direction: "forward" },
      ArrowDown: { direction: "back" },
      a: { direction: "left" }
    })
    expect(move!.keys?.release).toEqual({ direction: "none" })
    expect(move!.schema.direction!.enum).toEqual(["forward", "back", "left", "right", "none"])
    expect(camera!.schema.speed).toMatchObject({ type: "number", minimum: 0, maximum: 1, default: 0.5 })
  })

  it.effect("generates blocks of frames, and walking changes the picture", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const first = yield* session.frame
        expect(first.frame).toMatchObject({ width: 64, height: 36 })
        yield* session.send({ type: "move", data: { direction: "forward" } })
        yield* session.advance(300)
        const later = (yield* session.bufferedFrames).at(-1)!
        expect(later.index).toBeGreaterThan(first.index)
        expect(Buffer.compare(first.frame.data, later.frame.data)).not.toBe(0)
        // Blocks of 4: every command applies from a block boundary.
        const ack = yield* session.send({ type: "reset" })
        expect(ack.frame % 4).toBe(0)
      }), { config }))
})
