import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Option, Queue, Ref, Schedule, TestClock } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Frame from "../../src/model/Frame.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"
import { SessionContext } from "../../src/model/SessionContext.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import * as Reactor from "../../src/session/Reactor.js"
import type * as Session from "../../src/session/Session.js"
import * as Harness from "../fixtures/core-harness.js"

const Commands = Command.group(
  Command.make("set", { description: "Sets the value", payload: { value: Param.int() } }),
  Command.make("get", { description: "Sends the value" }),
  Command.make("crash", { description: "A handler defect" }),
  Command.make("slow", { description: "Takes a second" })
)

/** A model that logs its life into `events`: load/unload, each session's acquire/release and its AbortSignal. */
const probe = (
  run: Effect.Effect<unknown, unknown, SessionContext>,
  options: { readonly setUp?: Effect.Effect<void, unknown> } = {}
) =>
  Effect.gen(function*() {
    const events = yield* Ref.make<ReadonlyArray<string>>([])
    const signals: Array<AbortSignal> = []
    const log = (event: string) => Ref.update(events, (all) => [...all, event])
    let sessions = 0
    const model = Model.make({
      name: "probe",
      commands: Commands,
      frameSize: { width: 2, height: 2 },
      load: () => Effect.acquireRelease(log("load"), () => log("unload")),
      session: () =>
        Effect.gen(function*() {
          const ctx = yield* SessionContext
          const n = ++sessions
          signals.push(ctx.signal)
          yield* Effect.acquireRelease(log(`acquire ${n}`), () => log(`release ${n}`))
          if (options.setUp) yield* options.setUp
          const value = yield* Ref.make(0)
          return {
            handlers: {
              set: ({ value: v }: { readonly value: number }) => Ref.set(value, v),
              get: () => Effect.flatMap(Ref.get(value), (v) => ctx.send({ value: v })),
              crash: () => Effect.die(new Error("handler defect")),
              slow: () => Effect.sleep(1000)
            },
            run
          }
        })
    })
    return { model, events: Ref.get(events), signals }
  })

const forever = Effect.forever(
  Effect.zipRight(Effect.flatMap(SessionContext, (ctx) => ctx.emit(null)), Effect.sleep(10))
)
const stopped = EndReason.Stopped({ by: "test" })

/** Waits until the session has emitted `n` frames (polled; the count, not how long it took, is what tests assert). */
const emitted = (session: Session.Session, n: number) =>
  session.stats.pipe(
    Effect.repeat({ until: (stats) => stats.framesEmitted >= n, schedule: Schedule.spaced("10 millis") }),
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`the session did not emit ${n} frames`) })
  )

describe("Session stopping", () => {
  it.live("an explicit stop aborts ctx.signal, runs the session's finalizers and ends with Stopped", () =>
    Effect.gen(function*() {
      const { events, model, signals } = yield* probe(forever)
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        yield* Effect.sleep(30)
        expect(signals[0]!.aborted).toBe(false)
        expect(yield* session.stop(stopped)).toEqual(stopped)
        expect(signals[0]!.aborted).toBe(true)
        expect(yield* events).toEqual(["load", "acquire 1", "release 1"])
        expect(yield* session.ended).toEqual(stopped)
        expect(yield* session.stop(EndReason.Shutdown())).toEqual(stopped) // the first reason wins
        const error = yield* Effect.flip(session.submit({ type: "get" }))
        expect(error._tag).toBe("SessionClosed")
      }).pipe(Effect.provide(Harness.reactor(model)))
    }))

  // On the TestClock: the handler's second never passes, so a stop that waited on it (or on its deadline) would hang.
  it.effect("a stop during a handler answers it and every queued command with SessionClosed", () =>
    Effect.gen(function*() {
      const { model } = yield* probe(forever)
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        const running = yield* Effect.fork(Effect.flip(session.submit({ type: "slow" })))
        yield* TestClock.adjust(20)
        const queued = yield* Effect.fork(Effect.flip(session.submit({ type: "get" })))
        yield* TestClock.adjust(20)
        expect(yield* session.stop(stopped)).toEqual(stopped)
        expect(yield* Clock.currentTimeMillis).toBe(40)
        expect((yield* Fiber.join(running))._tag).toBe("SessionClosed")
        expect((yield* Fiber.join(queued))._tag).toBe("SessionClosed")
      }).pipe(Effect.provide(Harness.reactor(model)))
    }))

  it.live("releasing the Reactor layer (shutdown) stops sessions with Shutdown, then releases the model", () =>
    Effect.gen(function*() {
      const { events, model, signals } = yield* probe(forever)
      const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start()).pipe(
        Effect.tap(() => Effect.sleep(20)),
        Effect.provide(Harness.reactor(model, { maxSessions: 2 }))
      )
      expect(yield* session.endReason).toEqual(EndReason.Shutdown())
      expect(signals[0]!.aborted).toBe(true)
      expect(yield* events).toEqual(["load", "acquire 1", "release 1", "unload"])
    }))

  it.live("a handler defect earns HandlerFailed, the session goes on, and a later stop still runs finalizers", () =>
    Effect.gen(function*() {
      const { events, model } = yield* probe(forever)
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        const error = yield* Effect.flip(session.submit({ type: "crash" }))
        expect(error).toMatchObject({ _tag: "HandlerFailed", command: "crash" })
        expect(error.message).toContain("handler defect")
        yield* session.submit({ type: "set", data: { value: 3 } })
        expect(yield* session.endReason).toBeUndefined()
        const frames = yield* session.frames(2)
        yield* frames.take // still generating
        expect(yield* session.stop(stopped)).toEqual(stopped)
        expect(yield* events).toContain("release 1")
      }).pipe(Effect.scoped, Effect.provide(Harness.reactor(model)))
    }))

  it.live("a loop that returns ends the session with ModelFinished, and finalizers run", () =>
    Effect.gen(function*() {
      const { events, model } = yield* probe(Effect.flatMap(SessionContext, (ctx) => ctx.emit([null, null])))
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        expect(yield* session.ended).toEqual(EndReason.ModelFinished())
        expect(yield* events).toEqual(["load", "acquire 1", "release 1"])
      }).pipe(Effect.provide(Harness.reactor(model)))
    }))

  it.live("a loop that returns has its last frames released before the session ends", () =>
    Effect.gen(function*() {
      const { model } = yield* probe(Effect.flatMap(SessionContext, (ctx) => ctx.emit([null, null, null, null])))
      yield* Effect.gen(function*() {
        const released: Array<number> = []
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) =>
          r.start({ sink: (out) => Effect.sync(() => void released.push(out.index)) }))
        expect(yield* session.ended).toEqual(EndReason.ModelFinished())
        expect(released).toEqual([0, 1, 2, 3])
        expect((yield* session.stats).framesEmitted).toBe(4)
      }).pipe(Effect.provide(Harness.reactor(model)))
    }))

  it.live("a loop that fails ends the session with ModelFailed carrying the error", () =>
    Effect.gen(function*() {
      const { events, model } = yield* probe(Effect.zipRight(Effect.sleep(10), Effect.fail(new Error("out of memory"))))
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        const reason = yield* session.ended
        expect(reason).toEqual(EndReason.ModelFailed({ error: "out of memory" }))
        expect(EndReason.describe(reason)).toBe("model failed: out of memory")
        expect(EndReason.code(reason)).toBe("model_failed")
        expect(yield* events).toContain("release 1")
      }).pipe(Effect.provide(Harness.reactor(model)))
    }))

  it.live("a session set-up that fails ends with ModelFailed and still releases what it acquired", () =>
    Effect.gen(function*() {
      const { events, model } = yield* probe(forever, { setUp: Effect.fail(new Error("no GPU")) })
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        expect(yield* session.ended).toEqual(EndReason.ModelFailed({ error: "session set-up: no GPU" }))
        expect(yield* events).toEqual(["load", "acquire 1", "release 1"])
      }).pipe(Effect.provide(Harness.reactor(model)))
    }))

  it.live("a malformed frame ends the session with ModelFailed saying what was wrong", () =>
    Effect.gen(function*() {
      const bad = { width: 2, height: 2, data: new Uint8Array(5) }
      const { model } = yield* probe(Effect.flatMap(SessionContext, (ctx) => ctx.emit([Frame.black(2, 2), bad])))
      const reason = yield* Effect.flatMap(Reactor.Reactor, (r) => Effect.flatMap(r.start(), (s) => s.ended)).pipe(
        Effect.provide(Harness.reactor(model))
      )
      expect(reason).toEqual(
        EndReason.ModelFailed({ error: "frame 1 of the block: frame data has 5 bytes but 2x2 RGB needs 12" })
      )
    }))

  it.effect("a loop that ignores interruption is torn down at the deadline (DeadlineExceeded), on the test clock", () =>
    Effect.gen(function*() {
      const stubborn = Effect.forever(Effect.uninterruptible(Effect.sleep(1500)))
      const { events, model } = yield* probe(stubborn)
      yield* Effect.gen(function*() {
        const session = yield* Effect.flatMap(Reactor.Reactor, (r) => r.start())
        const stopping = yield* Effect.fork(session.stop(stopped))
        yield* TestClock.adjust(199)
        expect(yield* Fiber.poll(stopping)).toEqual(Option.none())
        // At 200 ms the loop is given up on; the session's resources are released, and after one more deadline the
        // loop (which nothing in this thread can end) is left behind.
        yield* TestClock.adjust(401)
        const reason = yield* Fiber.join(stopping)
        expect(reason).toEqual(EndReason.DeadlineExceeded({ requested: "stopped (test)", deadlineMs: 200 }))
        expect(EndReason.code(reason)).toBe("deadline_exceeded")
        expect(yield* events).toContain("release 1")
      }).pipe(Effect.provide(Harness.reactor(model, { stopDeadlineMs: 200 })))
    }))

  it.live("a session started inside an uninterruptible region (acquireRelease) still stops at once", () =>
    Effect.gen(function*() {
      const { model } = yield* probe(Effect.never)
      yield* Effect.gen(function*() {
        const session = yield* Effect.acquireRelease(
          Effect.flatMap(Reactor.Reactor, (r) => r.start()),
          () => Effect.void
        )
        // stopped, not DeadlineExceeded: the stop did not wait for the model's loop to give up
        expect(yield* session.stop(stopped)).toEqual(stopped)
      }).pipe(Effect.scoped, Effect.provide(Harness.reactor(model, { stopDeadlineMs: 2000 })))
    }))
})

describe("Reactor", () => {
  it.live("refuses one session more than maxSessions with TooManySessions, and takes one again after a stop", () =>
    Effect.gen(function*() {
      const { model } = yield* probe(forever)
      yield* Effect.gen(function*() {
        const reactor = yield* Reactor.Reactor
        const first = yield* reactor.start()
        yield* reactor.start()
        const error = yield* Effect.flip(reactor.start())
        expect(error).toBeInstanceOf(Reactor.TooManySessions)
        expect(error.message).toBe("the server already runs its maximum of 2 sessions; try again later")
        expect(yield* reactor.list).toHaveLength(2)
        yield* first.stop(stopped)
        expect(yield* reactor.get(first.id)).toBeUndefined()
        yield* reactor.start() // at once, not after some background clean-up
      }).pipe(Effect.provide(Harness.reactor(model, { maxSessions: 2 })))
    }))

  it.live("sessions one after another and at the same time share no state", () =>
    Effect.gen(function*() {
      const { events, model } = yield* probe(forever)
      const valueOf = (session: Session.Session) =>
        Effect.scoped(Effect.gen(function*() {
          const messages = yield* session.messages
          yield* session.submit({ type: "get" })
          return yield* Queue.take(messages)
        }))
      yield* Effect.gen(function*() {
        const reactor = yield* Reactor.Reactor
        const first = yield* reactor.start()
        yield* first.submit({ type: "set", data: { value: 7 } })
        expect(yield* valueOf(first)).toEqual({ value: 7 })
        yield* first.stop(stopped)
        const second = yield* reactor.start()
        expect(yield* valueOf(second)).toEqual({ value: 0 })
        const third = yield* reactor.start()
        yield* Effect.all([
          second.submit({ type: "set", data: { value: 2 } }),
          third.submit({ type: "set", data: { value: 3 } })
        ], { concurrency: 2 })
        expect(yield* Effect.all([valueOf(second), valueOf(third)], { concurrency: 2 })).toEqual([{ value: 2 }, {
          value: 3
        }])
        expect(new Set([first.id, second.id, third.id]).size).toBe(3)
      }).pipe(Effect.provide(Harness.reactor(model, { maxSessions: 2 })))
      expect(yield* events).toEqual(expect.arrayContaining(["release 1", "release 2", "release 3"]))
      expect((yield* events).filter((e) => e === "load")).toHaveLength(1)
    }))

  it.live("serves a model layer built once for many sessions; its load resources outlive the sessions", () =>
    Effect.gen(function*() {
      const { events, model } = yield* probe(forever)
      const layer = Harness.reactor(model, { maxSessions: 3 })
      yield* Effect.gen(function*() {
        const reactor = yield* Reactor.Reactor
        for (let i = 0; i < 3; i++) yield* Effect.flatMap(reactor.start(), (s) => s.stop(stopped))
        expect(yield* events).not.toContain("unload")
      }).pipe(Effect.provide(layer))
      expect((yield* events).at(-1)).toBe("unload")
    }))
})

describe("Session frames", () => {
  it.live("when the model stops emitting the last frame is held: a late subscriber gets it at once", () =>
    Effect.gen(function*() {
      const { model } = yield* probe(
        Effect.zipRight(Effect.flatMap(SessionContext, (ctx) => ctx.emit([null, null, null])), Effect.never)
      )
      yield* Effect.gen(function*() {
        const session = yield* Harness.session
        yield* emitted(session, 3)
        const late = yield* session.frames(4)
        const held = yield* late.take.pipe(Effect.timeout(50))
        expect(held.index).toBe(2)
        expect((yield* session.stats).framesEmitted).toBe(3)
      }).pipe(Effect.scoped, Effect.provide(Harness.reactor(model)))
    }))

  it.live("a subscriber that does not keep up loses its oldest frames, and the session counts them", () =>
    Effect.gen(function*() {
      const twoBlocks = Effect.flatMap(
        SessionContext,
        (ctx) => Effect.repeatN(ctx.emit(Array.from({ length: 10 }, () => null)), 1)
      )
      const { model } = yield* probe(Effect.sleep(30).pipe(Effect.zipRight(twoBlocks), Effect.zipRight(Effect.never)))
      yield* Effect.gen(function*() {
        const session = yield* Harness.session
        const slow = yield* session.frames(3)
        yield* emitted(session, 20)
        expect((yield* slow.takeAll).map((f) => f.index)).toEqual([17, 18, 19])
        expect(yield* slow.dropped).toBe(17)
        expect((yield* session.stats).droppedFrames).toBe(17)
      }).pipe(Effect.scoped, Effect.provide(Harness.reactor(model)))
    }))
})

describe("Session extra args", () => {
  it.live("the client's extra_args reach the model as ctx.extraArgs, and default to an empty object", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const model = Model.make({
        name: "args",
        commands: Command.group(Command.make("noop", { description: "Nothing" })),
        session: () =>
          Effect.map(SessionContext, (ctx) => {
            seen.push(ctx.extraArgs)
            return { handlers: { noop: () => Effect.void }, run: Effect.never }
          })
      })
      yield* Effect.gen(function*() {
        const reactor = yield* Reactor.Reactor
        const first = yield* reactor.start({ extraArgs: { seed: 7, prompt: "rain" } })
        yield* first.stop(stopped)
        const second = yield* reactor.start()
        yield* second.stop(stopped)
      }).pipe(Effect.provide(Harness.reactor(model)))
      expect(seen).toEqual([{ seed: 7, prompt: "rain" }, {}])
    }))
})
