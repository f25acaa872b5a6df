// A consumer's property test, written with the published test kit and @effect/vitest.
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { CommandArbitrary, ModelTest } from "effect-reactor/testing"
import { Commands, model } from "./model.js"

it.effect.prop(
  "every valid set_level is applied and reported",
  [CommandArbitrary.valid(Commands, "set_level")],
  ([command]) =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const ack = yield* session.send(command)
        expect(ack.command).toBe("set_level")
        yield* session.advance(20)
        const frame = yield* session.frame
        expect(frame.frame.width).toBe(4)
        expect((yield* session.messages).at(-1)).toMatchObject({ type: "state", level: command.data.level ?? 128 })
      }), { config: { width: 4 } }),
  { fastCheck: { numRuns: 20 } }
)

it.effect.prop(
  "every invalid command earns its specific error",
  [CommandArbitrary.invalid(Commands)],
  ([invalid]) =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(session.send(invalid.command))
        expect(error._tag).toBe(invalid.expected._tag)
        expect((yield* session.stats).commandsApplied).toBe(0)
      })),
  { fastCheck: { numRuns: 30 } }
)
