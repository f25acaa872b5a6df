import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Ref } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Frame from "../../src/model/Frame.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"
import { SessionContext } from "../../src/model/SessionContext.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import { CommandArbitrary, ModelTest } from "../../src/testing/index.js"

const Commands = Command.group(
  Command.make("set_level", { description: "Level", payload: { level: Param.int({ min: 0, max: 9 }) } }),
  Command.make("set_name", { description: "Name", payload: { name: Param.string({ maxLength: 4, default: "x" }) } })
)

/** A model that sends its level after each command, emits one frame per 10 ms, and sleeps in its finalizer. */
const model = (released: Ref.Ref<number>) =>
  Model.make({
    name: "kit-test",
    commands: Commands,
    session: (_) =>
      Effect.gen(function*() {
        const ctx = yield* SessionContext
        const level = yield* Ref.make(0)
        yield* Effect.addFinalizer(() => Effect.zipRight(Effect.sleep(50), Ref.update(released, (n) => n + 1)))
        return {
          handlers: {
            set_level: ({ level: value }) => Effect.zipRight(Ref.set(level, value), ctx.send({ level: value })),
            set_name: ({ name }) => ctx.send({ name })
          },
          run: Effect.forever(Effect.gen(function*() {
            const value = yield* Ref.get(level)
            yield* ctx.emit(Frame.make(2, 2, new Uint8Array(12).fill(value)))
            yield* Effect.sleep(10)
          }))
        }
      })
  })

describe("ModelTest", () => {
  it.effect("sends commands and awaits their acks or errors; records every message from the start", () =>
    Effect.gen(function*() {
      const released = yield* Ref.make(0)
      yield* ModelTest.run(model(released), (session) =>
        Effect.gen(function*() {
          const ack = yield* session.send({ type: "set_level", data: { level: 3 } })
          expect(ack.command).toBe("set_level")
          const outcomes = yield* session.sendAll([
            { type: "set_level", data: { level: 10 } },
            { type: "jump", data: {} },
            { type: "set_name", data: {} }
          ])
          expect(outcomes.map((outcome) => Either.isLeft(outcome) ? outcome.left._tag : "ok")).toEqual([
            "InvalidPayload",
            "UnknownCommand",
            "ok"
          ])
          expect(yield* session.messages).toEqual([{ level: 3 }, { name: "x" }])
          // Reading again returns everything again, not only what is new.
          expect(yield* session.messages).toEqual([{ level: 3 }, { name: "x" }])
          expect(yield* session.stats).toMatchObject({ commandsApplied: 2, commandsRejected: 2 })
        }))
      expect(yield* Ref.get(released)).toBe(1)
    }))

  it.effect("the TestClock drives the loop: frames follow advance, with the state the commands set", () =>
    Effect.gen(function*() {
      const released = yield* Ref.make(0)
      yield* ModelTest.run(model(released), (session) =>
        Effect.gen(function*() {
          const first = yield* session.frame
          expect(first.index).toBe(0)
          yield* session.send({ type: "set_level", data: { level: 7 } })
          yield* session.advance(30)
          const frames = yield* session.frames(3)
          expect(frames.map((frame) => frame.index)).toEqual([1, 2, 3])
          expect(frames.at(-1)!.frame.data[0]).toBe(7)
          expect(yield* session.bufferedFrames).toEqual([])
          // A stop whose finalizer sleeps completes: the clock is moved on while it runs.
          expect(yield* session.stop).toEqual(EndReason.Stopped({ by: "test" }))
          expect(yield* Ref.get(released)).toBe(1)
        }))
    }))
})

describe("CommandArbitrary", () => {
  it.prop("valid commands of the named command only, within its declared bounds", [
    CommandArbitrary.valid(Commands, "set_level")
  ], ([command]) => {
    expect(command.type).toBe("set_level")
    expect(Number.isInteger(command.data.level) && command.data.level >= 0 && command.data.level <= 9).toBe(true)
  })

  it("invalid commands cover every kind that applies to the group", () => {
    const kinds = new Set(
      FastCheck.sample(CommandArbitrary.invalid(Commands), { numRuns: 400, seed: 1 }).map((invalid) => invalid.kind)
    )
    expect([...kinds].sort()).toEqual(
      ["extra", "missing", "not a command", "not an object", "out of range", "unknown command", "wrong type"]
    )
  })

  it("refuses a command name the group does not have", () => {
    expect(() => CommandArbitrary.valid(Commands, "jump" as "set_level")).toThrow(/no command jump/)
  })
})
