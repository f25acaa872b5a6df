import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Ref, Scope } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"
import * as Mailbox from "../../src/session/Mailbox.js"

const Commands = Command.group(
  Command.make("set_speed", {
    description: "Speed",
    payload: { speed: Param.number({ min: 0, max: 4, default: 1 }) }
  }),
  Command.make("set_prompt", { description: "Prompt", payload: { prompt: Param.string({ maxLength: 10 }) } }),
  Command.make("slow", { description: "Takes its time", payload: { n: Param.int() } }),
  Command.make("fail", { description: "Fails" }),
  Command.make("die", { description: "Dies" }),
  Command.make("throw", { description: "Throws" }),
  Command.make("reset", { description: "No parameters" })
)

/** A mailbox whose handlers record what they were given. */
const make = Effect.gen(function*() {
  const calls = yield* Ref.make<ReadonlyArray<string>>([])
  const record = (entry: string) => Ref.update(calls, (all) => [...all, entry])
  const mailbox = yield* Mailbox.make({
    commands: Commands,
    handlers: {
      set_speed: ({ speed }: { speed: number }) => record(`speed ${speed}`),
      set_prompt: ({ prompt }: { prompt: string }) => record(`prompt ${prompt}`),
      slow: ({ n }: { n: number }) => Effect.zipRight(Effect.sleep(n), record(`slow ${n}`)),
      fail: () => Effect.fail(new Error("no GPU left")),
      die: () => Effect.die(new Error("segfault")),
      throw: () => {
        throw new Error("thrown in the handler")
      },
      reset: () => record("reset")
    },
    provide: (effect) => effect as Effect.Effect<any, any>,
    nextFrame: Effect.succeed(0)
  })
  return { mailbox, calls: Ref.get(calls) }
})

const rejection = (mailbox: Mailbox.Mailbox, incoming: Mailbox.Incoming) => Effect.flip(mailbox.submit(incoming))

describe("Mailbox", () => {
  it.live("applies commands strictly in arrival order: a slow handler is not overtaken", () =>
    Effect.gen(function*() {
      const { calls, mailbox } = yield* make
      const fibers = []
      for (
        const [type, data] of [["slow", { n: 30 }], ["set_speed", { speed: 2 }], ["slow", { n: 10 }], ["reset", {}], [
          "set_prompt",
          { prompt: "z" }
        ]] as const
      ) {
        fibers.push(yield* Effect.fork(mailbox.submit({ type, data })))
        yield* Effect.yieldNow()
      }
      yield* Fiber.joinAll(fibers)
      expect(yield* calls).toEqual(["slow 30", "speed 2", "slow 10", "reset", "prompt z"])
    }).pipe(Effect.scoped))

  it.effect("acks applied commands with their id", () =>
    Effect.gen(function*() {
      const { calls, mailbox } = yield* make
      const ack = yield* mailbox.submit({ type: "set_speed", data: { speed: 3 }, id: "a1" })
      expect(ack).toMatchObject({ command: "set_speed", id: "a1", frame: 0 })
      yield* mailbox.submit({ type: "set_speed" })
      expect(yield* calls).toEqual(["speed 3", "speed 1"])
      expect(yield* mailbox.counts).toEqual({ applied: 2, rejected: 0 })
    }).pipe(Effect.scoped))

  it.effect.each([
    [{ type: 42 }, "InvalidMessage", "a command needs a non-empty string \"type\""],
    [{ type: "" }, "InvalidMessage", "a command needs a non-empty string \"type\""],
    [
      { type: "set_sped", data: { speed: 1 } },
      "UnknownCommand",
      "unknown command \"set_sped\"; known commands: set_speed, set_prompt, slow, fail, die, throw, reset"
    ],
    [
      { type: "set_speed", data: { speed: "fast" } },
      "InvalidPayload",
      "invalid payload for \"set_speed\": speed: Expected"
    ],
    [{ type: "set_speed", data: { speed: 9 } }, "InvalidPayload", "invalid payload for \"set_speed\": speed: Expected"],
    [
      { type: "set_speed", data: { speed: -1 } },
      "InvalidPayload",
      "invalid payload for \"set_speed\": speed: Expected"
    ],
    [{ type: "set_prompt", data: {} }, "InvalidPayload", "invalid payload for \"set_prompt\": prompt: is missing"],
    [
      { type: "set_prompt", data: { prompt: "x".repeat(11) } },
      "InvalidPayload",
      "invalid payload for \"set_prompt\": prompt: Expected"
    ],
    [{ type: "slow", data: { n: 1.5 } }, "InvalidPayload", "invalid payload for \"slow\": n: Expected"],
    [
      { type: "set_speed", data: { speed: 1, turbo: true } },
      "InvalidPayload",
      "invalid payload for \"set_speed\": turbo: is unexpected"
    ],
    [{ type: "reset", data: { hard: true } }, "InvalidPayload", "invalid payload for \"reset\": hard: is unexpected"],
    [
      { type: "reset", data: "now" },
      "InvalidPayload",
      "invalid payload for \"reset\": Expected an object of parameters, actual \"now\""
    ],
    [{ type: "set_speed", data: [1] }, "InvalidPayload", "invalid payload for \"set_speed\": Expected"]
  ] as Array<[Mailbox.Incoming, string, string]>)(
    "refuses %o with %s, and no handler runs",
    ([incoming, tag, message]) =>
      Effect.gen(function*() {
        const { calls, mailbox } = yield* make
        const error = yield* rejection(mailbox, incoming)
        expect(error._tag).toBe(tag)
        expect(error.message.startsWith(message)).toBe(true)
        expect(yield* calls).toEqual([])
        expect(yield* mailbox.counts).toEqual({ applied: 0, rejected: 1 })
      }).pipe(Effect.scoped)
  )

  it.effect("an out-of-range value says what was expected and what came", () =>
    Effect.gen(function*() {
      const { mailbox } = yield* make
      const error = yield* rejection(mailbox, { type: "set_speed", data: { speed: 9 } })
      expect(error).toMatchObject({ _tag: "InvalidPayload", command: "set_speed", code: "invalid_payload" })
      expect((error as any).issues).toEqual([{
        path: "speed",
        message: expect.stringMatching(/between 0 and 4.*actual 9/)
      }])
    }).pipe(Effect.scoped))

  it.effect.each([
    ["fail", "no GPU left"],
    ["die", "segfault"],
    ["throw", "thrown in the handler"]
  ])("a handler that does %s earns HandlerFailed and the mailbox goes on", ([type, cause]) =>
    Effect.gen(function*() {
      const { calls, mailbox } = yield* make
      const error = yield* rejection(mailbox, { type })
      expect(error).toMatchObject({ _tag: "HandlerFailed", command: type, code: "handler_failed" })
      expect(error.message).toBe(`the handler of "${type}" failed: ${cause}`)
      yield* mailbox.submit({ type: "set_speed", data: { speed: 2 } })
      expect(yield* calls).toEqual(["speed 2"])
      expect(yield* mailbox.counts).toEqual({ applied: 1, rejected: 1 })
    }).pipe(Effect.scoped))

  it.effect("after its scope closes, a submit earns SessionClosed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { mailbox } = yield* Scope.extend(make, scope)
      yield* Scope.close(scope, Exit.void)
      const error = yield* rejection(mailbox, { type: "reset" })
      expect(error).toMatchObject({ _tag: "SessionClosed", code: "session_closed" })
    }))
  it.effect("onSettled sees each outcome, from the actor, before submit returns; a closed mailbox settles too", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { mailbox } = yield* Scope.extend(make, scope)
      const seen: Array<string> = []
      const note = (label: string) => (exit: Exit.Exit<Mailbox.Ack, unknown>) =>
        seen.push(`${label} ${Exit.isSuccess(exit) ? `ack ${exit.value.command}` : "rejected"}`)
      const ack = yield* mailbox.submit({ type: "set_speed", data: { speed: 1 }, id: 1 }, note("a"))
      expect(ack.command).toBe("set_speed")
      expect(seen).toEqual(["a ack set_speed"])
      yield* Effect.flip(mailbox.submit({ type: "nope" }, note("b")))
      expect(seen).toEqual(["a ack set_speed", "b rejected"])
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(mailbox.submit({ type: "reset" }, note("c")))
      expect(error._tag).toBe("SessionClosed")
      expect(seen.at(-1)).toBe("c rejected")
    }))
})
