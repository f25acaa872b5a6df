/**
 * The reactor: a loaded model serving sessions. It starts sessions (up to `maxSessions` at once), finds them by id,
 * and stops every one of them cooperatively when its layer is released (runtime shutdown).
 */
import { Context, Data, Effect, ExecutionStrategy, FiberMap, Layer, Option, Scope } from "effect"
import * as Model from "../model/Model.js"
import * as EndReason from "../protocol/EndReason.js"
import * as SessionId from "../protocol/SessionId.js"
import type * as Metrics from "./Metrics.js"
import * as Session from "./Session.js"

/** Options of the reactor. */
export interface Options {
  /** Sessions at once; one more is refused. Default 1 (a GPU model usually serves one viewer). */
  readonly maxSessions?: number
  /** Deadline of a cooperative stop, per session. Default 5000 ms. */
  readonly stopDeadlineMs?: number
  /** A cap on each session's frame rate. */
  readonly maxFps?: number
  /** Whether the model's own error texts reach clients (`ModelErrors`); else a reference to the log. Default true. */
  readonly exposeModelErrors?: boolean
  /** Where sessions record their figures (`Metrics.live` on a server); none by default. */
  readonly recorder?: Metrics.Recorder | undefined
}

/** Refused: the reactor already runs `max` sessions. */
export class TooManySessions extends Data.TaggedError("TooManySessions")<{ readonly max: number }> {
  override get message() {
    return `the server already runs its maximum of ${this.max} session${this.max === 1 ? "" : "s"}; try again later`
  }
}

/**
 * Refused: no copy of the model can take the session now (each one's thread is blocked by its model, or is being
 * loaded again past the start's deadline). The message says which; the client may try again later.
 */
export class ModelUnavailable extends Data.TaggedError("ModelUnavailable")<{ readonly message: string }> {}

/**
 * Whether the reactor can take sessions now: `loading` while a copy of the model is being loaded again, `degraded`
 * while a copy's thread does not answer (its model blocks it; `workers` says which).
 */
export type Status = "ok" | "loading" | "degraded"

/** One copy of a model that runs apart from the server (a worker), as `/health` shows it. */
export interface WorkerState {
  readonly worker: number
  /** `unresponsive`: its thread has not answered a ping in time (a model blocks it). */
  readonly state: "ok" | "loading" | "unresponsive"
  readonly sessions: number
}

/** The reactor service. */
export interface Service {
  /** What the model declares: all the server side may know of it (the model itself may run in a worker). */
  readonly model: Model.Declared
  readonly status: Effect.Effect<Status>
  readonly options: Required<Pick<Options, "maxSessions" | "stopDeadlineMs">>
  /** The copies of the model and their state, for a reactor whose model runs in workers. */
  readonly workers?: Effect.Effect<ReadonlyArray<WorkerState>>
  /**
   * Starts a session, or refuses with `TooManySessions` (or `ModelUnavailable`, when no copy of the model can take
   * it now). The session is removed from the reactor when it ends.
   */
  readonly start: (options?: StartOptions) => Effect.Effect<Session.Session, TooManySessions | ModelUnavailable>
  readonly get: (id: SessionId.SessionId) => Effect.Effect<Session.Session | undefined>
  readonly list: Effect.Effect<ReadonlyArray<Session.Session>>
  /** Stops every session with the same reason, concurrently. */
  readonly stopAll: (reason: EndReason.EndReason) => Effect.Effect<void>
  /**
   * Brings the figures recorded apart from this thread (model hosts' tallies) into this thread's metrics, before a
   * scrape. Absent for a reactor whose sessions record here.
   */
  readonly collectMetrics?: Effect.Effect<void>
}

/** The session a client named (untrusted text), or `undefined`: text that no session id can be finds nothing. */
export const lookup = (reactor: Service, raw: string): Effect.Effect<Session.Session | undefined> =>
  Option.match(SessionId.fromClient(raw), { onNone: () => Effect.succeed(undefined), onSome: reactor.get })

/** Options of one session start. */
export interface StartOptions {
  readonly id?: SessionId.SessionId
  readonly extraArgs?: Readonly<Record<string, unknown>>
  /** A frame consumer that back-pressures instead of dropping (`Session.Options.sink`); in-process reactors only. */
  readonly sink?: Session.Options["sink"]
  /** An audio consumer that back-pressures (`Session.Options.audioSink`); in-process reactors only. */
  readonly audioSink?: Session.Options["audioSink"]
}

/** The reactor tag. */
export class Reactor extends Context.Tag("effect-reactor/Reactor")<Reactor, Service>() {}

/** Builds a reactor over the loaded model; releasing it stops every session with reason `Shutdown`. */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const model = yield* Model.Model
    // The sessions' scopes live in one of their own, opened before the shutdown finalizer below: finalizers run in
    // reverse, so every session is stopped cooperatively (loop first, then its resources) before any scope closes.
    const sessionsScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const maxSessions = options.maxSessions ?? 1
    const stopDeadlineMs = options.stopDeadlineMs ?? 5000
    const sessions = new Map<SessionId.SessionId, Session.Session>()
    // Each session's watcher, held for the reactor's life: it drops the session from the map when it ends.
    const watchers = yield* FiberMap.make<string>()
    let reserved = 0
    // A session leaves the map when it ends; drop ended ones here too, so a start right after a stop is not refused.
    const prune = Effect.suspend(() =>
      Effect.forEach([...sessions.values()], (session) =>
        Effect.map(session.endReason, (reason) => {
          if (reason !== undefined) sessions.delete(session.id)
        }), { discard: true })
    )
    const stopAll = (reason: EndReason.EndReason) =>
      Effect.forEach([...sessions.values()], (session) => session.stop(reason), {
        concurrency: "unbounded",
        discard: true
      })
    yield* Effect.addFinalizer(() => stopAll(EndReason.Shutdown()))
    const service: Service = {
      model,
      options: { maxSessions, stopDeadlineMs },
      status: Effect.succeed("ok"),
      start: (startOptions) =>
        Effect.gen(function*() {
          yield* prune
          if (sessions.size + reserved >= maxSessions) return yield* new TooManySessions({ max: maxSessions })
          reserved++
          const session = yield* Session.make(model, {
            stopDeadlineMs,
            ...(startOptions?.id !== undefined ? { id: startOptions.id } : {}),
            ...(startOptions?.extraArgs !== undefined ? { extraArgs: startOptions.extraArgs } : {}),
            ...(startOptions?.sink !== undefined ? { sink: startOptions.sink } : {}),
            ...(startOptions?.audioSink !== undefined ? { audioSink: startOptions.audioSink } : {}),
            ...(options.maxFps !== undefined ? { maxFps: options.maxFps } : {}),
            ...(options.exposeModelErrors !== undefined ? { exposeModelErrors: options.exposeModelErrors } : {}),
            recorder: options.recorder
          }).pipe(Scope.extend(sessionsScope), Effect.ensuring(Effect.sync(() => reserved--)))
          sessions.set(session.id, session)
          yield* FiberMap.run(
            watchers,
            session.id,
            Effect.zipRight(session.ended, Effect.sync(() => sessions.delete(session.id)))
          )
          yield* Effect.logInfo(`session ${session.id} started (${sessions.size}/${maxSessions})`)
          return session
        }).pipe(Effect.withSpan("Reactor.start")),
      get: (id) => Effect.zipRight(prune, Effect.sync(() => sessions.get(id))),
      list: Effect.zipRight(prune, Effect.sync(() => [...sessions.values()])),
      stopAll
    }
    return service
  })

/** The reactor as a layer over a model layer's output. */
export const layer = (options: Options = {}): Layer.Layer<Reactor, never, Model.Model> =>
  Layer.scoped(Reactor, make(options))
