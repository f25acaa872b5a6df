/**
 * Which socket drives which session, and what happens to a session without one. A session with no socket is
 * orphaned: a socket that attaches within the grace window resumes it (state intact); after the window it is stopped
 * cooperatively (`Stopped{by:"orphaned"}`). A new socket replaces the old one. Sessions also get a maximum duration.
 */
import { Clock, Context, Effect, Exit, Fiber, Layer, type Tracer } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Fibers from "./Fibers.js"
import * as Metrics from "./Metrics.js"
import type * as Session from "./Session.js"
import * as Tracing from "./Tracing.js"

/** A transport connection as the registry sees it: something it can close when a newer one takes over. */
export interface Connection {
  /** Closes the connection because another one took over its session. */
  readonly replace: Effect.Effect<void>
}

/** What the session's connections counted, across connections (a resumed session keeps its counts). */
export interface Counters {
  /** Frames a transport skipped because its client was not reading (on top of the session's own drops). */
  skippedFrames: number
  /** Commands refused with `rate_limited`. */
  rateLimited: number
}

interface Entry {
  readonly session: Session.Session
  readonly counters: Counters
  /** The session's span (tracing on): from its registration to its end. */
  readonly span: Tracer.Span | undefined
  connection: Connection | undefined
  attachedBefore: boolean
  orphanTimer: Fiber.RuntimeFiber<unknown> | undefined
}

/** Whether a session has a socket. */
export type State = "running" | "orphaned"

/** The registry service. */
export interface Service {
  /** Tracks a new session: orphaned (no socket yet) until a socket attaches; limited to the maximum duration. */
  readonly register: (session: Session.Session) => Effect.Effect<void>
  /** Attaches a connection, replacing (closing) the current one. `resumed` = a connection had been attached before. */
  readonly attach: (
    session: Session.Session,
    connection: Connection
  ) => Effect.Effect<{ readonly resumed: boolean }>
  /** Detaches a connection if it is still the current one; the session becomes orphaned. */
  readonly detach: (session: Session.Session, connection: Connection) => Effect.Effect<void>
  readonly state: (sessionId: string) => Effect.Effect<State | undefined>
  /** The session's transport counters (a detached zeroed set for a session the registry does not know). */
  readonly counters: (sessionId: string) => Counters
  /** The session's span, parent of its commands' spans; `undefined` with tracing off. */
  readonly span: (sessionId: string) => Tracer.Span | undefined
}

/** The registry tag. */
export class Registry extends Context.Tag("effect-reactor/server/Registry")<Registry, Service>() {}

/** Builds a registry whose timers live in the current scope. */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const scope = yield* Effect.scope
  const entries = new Map<string, Entry>()
  // Every session a client starts passes here, whichever thread its model runs in: sessions are counted here.
  const recorder = Metrics.forFlag(config.metrics)

  const startOrphanTimer = (entry: Entry) =>
    Effect.gen(function*() {
      if (entry.orphanTimer !== undefined) return
      entry.orphanTimer = yield* Effect.sleep(config.graceMs).pipe(
        Effect.zipRight(Effect.logInfo(`session orphaned for ${config.graceMs} ms: stopping it`)),
        Effect.zipRight(entry.session.stop(EndReason.Stopped({ by: "orphaned" }))),
        Effect.annotateLogs("session", entry.session.id),
        // detach runs in a finalizer (uninterruptible): the timer must stay interruptible
        Effect.interruptible,
        Fibers.forkIn(scope, "orphan timer")
      )
    })

  const cancelOrphanTimer = (entry: Entry) =>
    Effect.suspend(() => {
      const timer = entry.orphanTimer
      entry.orphanTimer = undefined
      return timer === undefined ? Effect.void : Fiber.interruptFork(timer)
    })

  const service: Service = {
    register: (session) =>
      Effect.gen(function*() {
        const span = (yield* Tracing.enabled)
          ? yield* Effect.makeSpan("session", { attributes: { "session.id": session.id } })
          : undefined
        const entry: Entry = {
          session,
          counters: { skippedFrames: 0, rateLimited: 0 },
          span,
          connection: undefined,
          attachedBefore: false,
          orphanTimer: undefined
        }
        entries.set(session.id, entry)
        recorder.sessionStarted()
        yield* startOrphanTimer(entry)
        const maxDuration = config.maxDurationMs
        if (maxDuration !== undefined) {
          yield* Effect.sleep(maxDuration).pipe(
            Effect.zipRight(Effect.logInfo(`session reached its maximum duration of ${maxDuration} ms`)),
            Effect.zipRight(session.stop(EndReason.Stopped({ by: "max_duration" }))),
            Effect.annotateLogs("session", session.id),
            Effect.raceFirst(session.ended),
            Effect.interruptible,
            Fibers.forkIn(scope, "maximum duration timer")
          )
        }
        yield* session.ended.pipe(
          Effect.tap((reason) =>
            span === undefined ? Effect.void : Effect.map(Clock.currentTimeNanos, (now) => {
              span.attribute("session.end_reason", EndReason.code(reason))
              span.attribute("session.end_message", EndReason.describe(reason))
              span.end(now, Exit.void)
            })
          ),
          Effect.flatMap((reason) =>
            Effect.suspend(() => {
              recorder.sessionEnded(EndReason.code(reason))
              entries.delete(session.id)
              return cancelOrphanTimer(entry)
            })
          ),
          Effect.interruptible,
          Fibers.forkIn(scope, "session end watcher")
        )
      }),
    attach: (session, connection) =>
      Effect.gen(function*() {
        const entry = entries.get(session.id)
        if (entry === undefined) return { resumed: false }
        const previous = entry.connection
        const resumed = entry.attachedBefore
        entry.connection = connection
        entry.attachedBefore = true
        yield* cancelOrphanTimer(entry)
        if (previous !== undefined) yield* previous.replace
        return { resumed }
      }),
    detach: (session, connection) =>
      Effect.suspend(() => {
        const entry = entries.get(session.id)
        if (entry === undefined || entry.connection !== connection) return Effect.void
        entry.connection = undefined
        return startOrphanTimer(entry)
      }),
    state: (sessionId) =>
      Effect.sync(() => {
        const entry = entries.get(sessionId)
        if (entry === undefined) return undefined
        return entry.connection === undefined ? "orphaned" : "running"
      }),
    counters: (sessionId) => entries.get(sessionId)?.counters ?? { skippedFrames: 0, rateLimited: 0 },
    span: (sessionId) => entries.get(sessionId)?.span
  }
  return service
})

/** The registry as a layer. */
export const layer: Layer.Layer<Registry, never, ServerConfig.Config> = Layer.scoped(Registry, make)
