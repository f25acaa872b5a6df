/**
 * Runs a model in-process for tests: no network, no transport, just the session core. `layer` loads the model once
 * (config decoded from its schema, logs silenced), `start` opens a session that is stopped when the test's scope
 * closes; the returned handle sends commands and awaits their acks, and reads the frames, messages and stats.
 *
 * Time: under `@effect/vitest`'s `it.effect` (and `it.effect.prop`) the clock is effect's `TestClock`, so a model that
 * sleeps between frames only moves on when the test calls `advance`; under `it.live` it runs in real time.
 */
import { Effect, type Either, Fiber, Layer, Logger, LogLevel, Queue, type Scope, TestClock } from "effect"
import type * as Input from "../model/Input.js"
import * as Model from "../model/Model.js"
import type * as CommandError from "../protocol/CommandError.js"
import * as EndReason from "../protocol/EndReason.js"
import type * as FrameBus from "../session/FrameBus.js"
import type * as Mailbox from "../session/Mailbox.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"

/** What a model module exports: the layer `Model.make` returns. */
export type ModelLayer = Layer.Layer<Model.Model, unknown, Model.ConfigInput>

/** Options of `layer`. */
export interface Options {
  /** The model's raw config, decoded by its schema (defaults fill the rest). Default `{}`. */
  readonly config?: unknown
  /** The reactor's options (sessions at once, stop deadline, frame rate cap). */
  readonly reactor?: Reactor.Options
  /** The lowest log level printed; `"None"` (the default) keeps test output quiet. */
  readonly logLevel?: LogLevel.Literal
}

/** A reactor serving `model` in-process, with its config from `options.config`. */
export const layer = (model: ModelLayer, options: Options = {}): Layer.Layer<Reactor.Reactor, unknown> =>
  Reactor.layer(options.reactor).pipe(
    Layer.provide(model),
    Layer.provide(Model.ConfigInput.layer({ source: "test", value: options.config ?? {} })),
    Layer.provideMerge(Logger.minimumLogLevel(LogLevel.fromLiteral(options.logLevel ?? "None")))
  )

/** A command as a client sends it: `{type, data}`, not yet validated. */
export type Command = Mailbox.Incoming

/** A session under test. Everything it reads was recorded from the moment the session started. */
export interface TestSession {
  /** The session itself, for what this handle does not cover. */
  readonly session: Session.Session
  /** Sends one command and waits until it is applied (its ack) or rejected (the specific error). */
  readonly send: (command: Command) => Effect.Effect<Mailbox.Ack, CommandError.CommandError>
  /** Sends commands in order, each after the previous one settled, and returns every outcome. */
  readonly sendAll: (
    commands: Iterable<Command>
  ) => Effect.Effect<ReadonlyArray<Either.Either<Mailbox.Ack, CommandError.CommandError>>>
  /**
   * Sends an input frame to the model's input `track` as a client would (checked: an unknown track, a wrong size or
   * a frame over the declared maximum is refused with the specific `InputError`).
   */
  readonly pushInput: (track: string, frame: Input.Incoming) => Effect.Effect<void, Input.InputError>
  /** Every message the model sent to the client so far (`ctx.send`), oldest first. */
  readonly messages: Effect.Effect<ReadonlyArray<unknown>>
  /** Waits for the next frame. */
  readonly frame: Effect.Effect<FrameBus.OutFrame>
  /** Waits for the next `n` frames. */
  readonly frames: (n: number) => Effect.Effect<ReadonlyArray<FrameBus.OutFrame>>
  /** The frames buffered now (possibly none), without waiting; the buffer keeps the latest `frameBuffer` frames. */
  readonly bufferedFrames: Effect.Effect<ReadonlyArray<FrameBus.OutFrame>>
  readonly stats: Effect.Effect<Session.Stats>
  /** Moves the `TestClock` forward (only under `it.effect`), letting a sleeping model loop run. */
  readonly advance: (millis: number) => Effect.Effect<void>
  /** Stops the session now; returns the reason it ended with. */
  readonly stop: Effect.Effect<EndReason.EndReason>
  /** The end reason, if the session has ended (its loop returned or failed, or it was stopped). */
  readonly endReason: Effect.Effect<EndReason.EndReason | undefined>
  /** Waits for the session to end by itself. */
  readonly ended: Effect.Effect<EndReason.EndReason>
}

/** Options of `start`. */
export interface StartOptions {
  /** The client's `extra_args`, handed to the model as `ctx.extraArgs`. */
  readonly extraArgs?: Readonly<Record<string, unknown>>
  /** Frames kept for `frame`/`frames`; older ones are dropped (as a slow viewer's are). Default 64. */
  readonly frameBuffer?: number
}

/**
 * Stops a session. Under the `TestClock` time stands still unless the test moves it, so a model whose stop waits on a
 * sleep (a critical section, a finalizer) would hang the test: the clock is moved on, 1 ms at a time, until the stop
 * is done. Under the live clock this is just the stop.
 */
const stopSession = (session: Session.Session, reason: EndReason.EndReason) =>
  Effect.flatMap(Effect.clock, (clock) => {
    if (!("adjust" in clock)) return session.stop(reason)
    const testClock = clock as TestClock.TestClock
    return Effect.gen(function*() {
      const mover = yield* Effect.forkDaemon(Effect.interruptible(Effect.forever(testClock.adjust(1))))
      const ended = yield* session.stop(reason)
      yield* Fiber.interrupt(mover)
      return ended
    })
  })

/** Starts a session of the reactor's model; it is stopped (reason `Stopped({by: "test"})`) when the scope closes. */
export const start = (
  options: StartOptions = {}
): Effect.Effect<TestSession, Reactor.TooManySessions | Reactor.ModelUnavailable, Reactor.Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    // Started interruptibly (not as an acquireRelease's acquire): a model that forks a fiber in its session set-up
    // (a reader of its input frames) would otherwise fork it uninterruptible, and no stop could end it. A session
    // left by an interruption right here is still stopped with the reactor.
    const session = yield* reactor.start(options.extraArgs !== undefined ? { extraArgs: options.extraArgs } : {})
    yield* Effect.addFinalizer(() => stopSession(session, EndReason.Stopped({ by: "test" })))
    const inbox = yield* session.messages
    const received: Array<unknown> = []
    const messages = Effect.map(Queue.takeAll(inbox), (chunk) => {
      for (const message of chunk) received.push(message)
      return received.slice()
    })
    const subscription = yield* session.frames(options.frameBuffer ?? 64)
    return {
      session,
      send: (command) => session.submit(command),
      sendAll: (commands) => Effect.forEach(commands, (command) => Effect.either(session.submit(command))),
      pushInput: session.pushInput,
      messages,
      frame: subscription.take,
      frames: (n) => Effect.replicateEffect(subscription.take, n),
      bufferedFrames: subscription.takeAll,
      stats: session.stats,
      advance: (millis) => TestClock.adjust(millis),
      stop: stopSession(session, EndReason.Stopped({ by: "test" })),
      endReason: session.endReason,
      ended: session.ended
    } satisfies TestSession
  })

/** Runs `test` against a fresh session of `model` and closes everything after it: the one-call form of the kit. */
export const run = <A, E>(
  model: ModelLayer,
  test: (session: TestSession) => Effect.Effect<A, E, Scope.Scope>,
  options: Options & StartOptions = {}
): Effect.Effect<A, E | Reactor.TooManySessions | unknown> =>
  Effect.flatMap(start(options), test).pipe(Effect.scoped, Effect.provide(layer(model, options)))
