/**
 * The connection core on its own, as a new transport would drive it: no socket, text in through `receive`, replies
 * and closes captured from the `Io`. A session of the fixture model runs underneath (reactor + registry in-process).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Scope, TestClock } from "effect"
import * as ServerConfig from "../../src/config/ServerConfig.js"
import * as Model from "../../src/model/Model.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import * as Reactor from "../../src/session/Reactor.js"
import * as Registry from "../../src/session/Registry.js"
import * as Connection from "../../src/transport/Connection.js"
import * as Fixture from "../fixtures/server-model.js"

/** What a transport's `Io` saw. */
const recorder = () => {
  const sent: Array<{ scope: string; type: string; data: any }> = []
  const closes: Array<{ code: number; reason: string }> = []
  const io: Connection.Io = {
    send: (text) => {
      const parsed = JSON.parse(text)
      sent.push({ scope: parsed.scope, type: parsed.data.type, data: parsed.data.data ?? parsed.data })
    },
    close: (code, reason) => closes.push({ code, reason })
  }
  return { io, sent, closes }
}

const environment = (config: ServerConfig.Input = {}) => {
  const configLayer = ServerConfig.layer({ statsIntervalMs: 60_000, ...config })
  const reactor = Layer.scoped(Reactor.Reactor, Reactor.make({ maxSessions: 4 })).pipe(
    Layer.provide(Fixture.make()),
    Layer.provide(Model.ConfigInput.empty)
  )
  return Layer.mergeAll(configLayer, reactor, Registry.layer.pipe(Layer.provide(configLayer)))
}

const run = <A, E>(
  effect: Effect.Effect<A, E, Scope.Scope | ServerConfig.Config | Reactor.Reactor | Registry.Registry>,
  config?: ServerConfig.Input
) => Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(environment(config))))

/** Waits until `check` holds (fibers of the connection run in between). */
const until = (check: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (check() ? Effect.void : Effect.zipRight(Effect.sleep(5), until(check))))

const started = Effect.gen(function*() {
  const reactor = yield* Reactor.Reactor
  const session = yield* reactor.start()
  yield* (yield* Registry.Registry).register(session)
  return session
})

describe("Connection (no transport)", () => {
  it("says sessionReady, answers text messages in order through Io.send, and says sessionEnded before closing", async () => {
    const { closes, io, sent } = recorder()
    await run(Effect.gen(function*() {
      const session = yield* started
      const connection = yield* Connection.make({ session, io, transport: "test", ready: { format: "none" } })
      yield* connection.receive(`{"scope":"runtime","data":{"type":"ping"}}`)
      yield* connection.receive(`{"scope":"application","data":{"type":"set_color","data":{"r":1},"id":"a"}}`)
      yield* connection.receive(`{"type":"set_color","data":{"r":999},"id":"b"}`)
      yield* connection.receive(`{not json`)
      yield* connection.receive(`{"scope":"application","data":{"type":"echo","data":{"text":"hi"}}}`)
      yield* until(() => sent.some((m) => m.type === "echo")) // the forwarder fiber sends the model's message
      yield* session.stop(EndReason.Stopped({ by: "test" }))
      yield* until(() => closes.length > 0)
    }))
    expect(sent.map((m) => (m.type === "error" ? `error:${m.data.code}` : m.type))).toEqual([
      "sessionReady",
      "pong",
      "commandAck",
      "error:invalid_payload",
      "error:invalid_json",
      "echo",
      "sessionEnded"
    ])
    expect(sent[0]!.data).toMatchObject({ resumed: false, format: "none", model: { name: "server-fixture" } })
    expect(sent.at(-1)!.data).toEqual({ reason: "stopped", message: "stopped (test)" })
    expect(closes[0]).toMatchObject({ code: 1000 })
  })

  it("a newer connection replaces the older one (4409) and resumes; the command budget answers rate_limited", async () => {
    const first = recorder()
    const second = recorder()
    await run(
      Effect.gen(function*() {
        const session = yield* started
        yield* Connection.make({ session, io: first.io, transport: "test" })
        const connection = yield* Connection.make({ session, io: second.io, transport: "test" })
        expect(connection.resumed).toBe(true)
        for (let i = 0; i < 4; i++) {
          yield* connection.receive(`{"type":"set_color","data":{"r":${i}},"id":${i}}`)
        }
        const stats = yield* connection.stats
        expect(stats.rateLimited).toBe(2)
      }),
      { maxCommandsPerSecond: 0.001, commandBurst: 2 }
    )
    expect(first.closes).toEqual([{ code: 4409, reason: "replaced by a newer connection to the session" }])
    const answers = second.sent.filter((m) => m.type !== "sessionReady")
    expect(answers.map((m) => (m.type === "error" ? m.data.code : m.type))).toEqual([
      "commandAck",
      "commandAck",
      "rate_limited",
      "rate_limited"
    ])
    expect(answers[2]!.data).toMatchObject({ id: 2, command: "set_color", limit: 0.001, burst: 2 })
  })

  it("a typed submit has the same checks, as typed errors", async () => {
    const { io } = recorder()
    const outcome = await run(Effect.gen(function*() {
      const session = yield* started
      const connection = yield* Connection.make({ session, io, transport: "test", text: false })
      let deep: unknown = 0
      for (let i = 0; i < 100; i++) deep = [deep]
      return {
        ack: yield* connection.submit("set_color", { r: 4 }),
        deep: yield* Effect.flip(connection.submit("set_color", { r: deep })),
        invalid: yield* Effect.flip(connection.submit("set_color", { r: -1 }))
      }
    }))
    expect(outcome.ack).toMatchObject({ command: "set_color", frame: expect.any(Number) })
    expect(outcome.deep).toMatchObject({ _tag: "WireError", code: "nesting_too_deep" })
    expect(outcome.invalid).toMatchObject({ _tag: "InvalidPayload", code: "invalid_payload" })
  })

  it("when the session ends, what waits in the transport's backlog is answered session_closed before sessionEnded", async () => {
    const { closes, io, sent } = recorder()
    await run(Effect.gen(function*() {
      const session = yield* started
      // a transport's inbox: received, not yet handed to `receive`
      const inbox: Array<string> = []
      const connection = yield* Connection.make({ session, io, transport: "test", backlog: () => inbox.length })
      for (let i = 0; i < 10; i++) inbox.push(`{"type":"sleep","data":{"ms":30},"id":${i}}`)
      // it hands them over one at a time, a little apart (as I/O would), each taken out only as it is handed over
      const reader = yield* Effect.fork(Effect.forever(Effect.zipRight(
        Effect.sleep(5),
        Effect.suspend(() => {
          const next = inbox.shift()
          return next === undefined ? Effect.void : connection.receive(next)
        })
      )))
      yield* until(() => sent.some((m) => m.type === "commandAck"))
      yield* session.stop(EndReason.Stopped({ by: "test" }))
      yield* until(() => closes.length > 0)
      yield* Fiber.interrupt(reader)
    }))
    const end = sent.findIndex((m) => m.type === "sessionEnded")
    const answered = sent.slice(0, end).filter((m) => m.type === "commandAck" || m.type === "error")
    expect(answered.map((m) => m.data.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].slice(0, answered.length))
    expect(answered).toHaveLength(10)
    expect(answered.slice(2).map((m) => m.data.code)).toEqual(Array(8).fill("session_closed"))
    expect(closes[0]).toMatchObject({ code: 1000 })
  })
})

/** Lets the connection's fibers run (a few turns of the event loop; the TestClock does not move). */
const settle = Effect.repeatN(Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve))), 5)

/** Types of what the `Io` saw, errors as `error:<code>`. */
const typesOf = (sent: ReturnType<typeof recorder>["sent"]) =>
  sent.map((m) => (m.type === "error" ? `error:${m.data.code}` : m.type))

describe("Connection on the TestClock (time moves only when the test says)", () => {
  const ping = `{"scope":"runtime","data":{"type":"ping"}}`

  it.scoped("liveness: a message or a touch keeps it open; idleTimeoutMs of silence closes it with 4408", () => {
    const { closes, io, sent } = recorder()
    return Effect.gen(function*() {
      const session = yield* started
      const connection = yield* Connection.make({ session, io, transport: "test", idleTimeoutMs: 1000 })
      yield* TestClock.adjust(999)
      yield* connection.receive(ping)
      yield* TestClock.adjust(999)
      connection.touch()
      yield* TestClock.adjust(999)
      yield* settle
      expect(closes).toEqual([])
      yield* TestClock.adjust(1)
      yield* settle
      expect(closes).toEqual([{ code: 4408, reason: "no message for 1000 ms" }])
      expect(typesOf(sent)).toEqual(["sessionReady", "pong"])
    }).pipe(Effect.provide(environment()))
  })

  it.scoped("the message budget: over it, a message waits for its token (and is then answered in order)", () => {
    const { io, sent } = recorder()
    return Effect.gen(function*() {
      const session = yield* started
      const connection = yield* Connection.make({ session, io, transport: "test" })
      yield* connection.receive(ping)
      yield* connection.receive(ping)
      const third = yield* Effect.fork(connection.receive(ping))
      yield* settle
      expect(typesOf(sent)).toEqual(["sessionReady", "pong", "pong"])
      yield* TestClock.adjust(499)
      yield* settle
      expect(typesOf(sent)).toEqual(["sessionReady", "pong", "pong"])
      yield* TestClock.adjust(1)
      yield* Fiber.join(third)
      expect(typesOf(sent)).toEqual(["sessionReady", "pong", "pong", "pong"])
    }).pipe(Effect.provide(environment({ maxMessagesPerSecond: 2 })))
  })

  it.scoped("the command budget: refused with rate_limited until the bucket refills on the clock", () => {
    const { io, sent } = recorder()
    const command = (id: number) => `{"type":"set_color","data":{"r":${id}},"id":${id}}`
    return Effect.gen(function*() {
      const session = yield* started
      const connection = yield* Connection.make({ session, io, transport: "test" })
      yield* connection.receive(command(1))
      yield* connection.receive(command(2))
      yield* TestClock.adjust(999)
      yield* connection.receive(command(3))
      yield* TestClock.adjust(1)
      yield* connection.receive(command(4))
      // commands are answered in their turn (a fiber of the connection's own): let it run
      yield* settle
      expect(typesOf(sent).slice(1)).toEqual(["commandAck", "error:rate_limited", "error:rate_limited", "commandAck"])
      expect((yield* connection.stats).rateLimited).toBe(2)
    }).pipe(Effect.provide(environment({ maxCommandsPerSecond: 1, commandBurst: 1 })))
  })
})
