/**
 * Which socket drives which session, and what happens to a session without one. A session with no socket is
 * orphaned: a socket that attaches within the grace window resumes it (state intact); after the window it is stopped
 * cooperatively (`Stopped{by:"orphaned"}`). A new socket replaces the old one. Sessions also get a maximum duration.
 */
import { Context, Effect, Fiber, Layer, Option } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as EndReason from "../protocol/EndReason.js"
import type * as SessionId from "../protocol/SessionId.js"
import * as Events from "./Events.js"
import * as Fibers from "./Fibers.js"
import type * as Session from "./Session.js"

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
  readonly state: (sessionId: SessionId.SessionId) => Effect.Effect<State | undefined>
  /** The session's transport counters (a detached zeroed set for a session the registry does not know). */
  readonly counters: (sessionId: SessionId.SessionId) => Counters
}

/** The registry tag. */
export class Registry extends Context.Tag("effect-reactor/server/Registry")<Registry, Service>() {}

/** Builds a registry whose timers live in the current scope. */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const scope = yield* Effect.scope
  const entries = new Map<SessionId.SessionId, Entry>()
  // The lifecycle journal (`/events`), when the server has one.
  const events = yield* Effect.serviceOption(Events.Events)
  const journal = (event: string, sessionId: string, detail?: Record<string, unknown>) =>
    Option.isSome(events) ? events.value.publish(event, sessionId, detail) : Effect.void

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
        const entry: Entry = {
          session,
          counters: { skippedFrames: 0, rateLimited: 0 },
          connection: undefined,
          attachedBefore: false,
          orphanTimer: undefined
        }
        entries.set(session.id, entry)
        yield* journal("session_started", session.id)
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
            journal("session_ended", session.id, {
              reason: EndReason.code(reason),
              message: EndReason.describe(reason)
            })
          ),
          Effect.zipRight(Effect.suspend(() => {
            entries.delete(session.id)
            return cancelOrphanTimer(entry)
          })),
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
        yield* journal("connection_opened", session.id, { resumed })
        return { resumed }
      }),
    detach: (session, connection) =>
      Effect.suspend(() => {
        const entry = entries.get(session.id)
        // A connection that was replaced, or whose session ended, leaves no orphan behind.
        if (entry === undefined || entry.connection !== connection) {
          return journal("connection_closed", session.id, { orphaned: false })
        }
        entry.connection = undefined
        return Effect.zipRight(journal("connection_closed", session.id, { orphaned: true }), startOrphanTimer(entry))
      }),
    state: (sessionId) =>
      Effect.sync(() => {
        const entry = entries.get(sessionId)
        if (entry === undefined) return undefined
        return entry.connection === undefined ? "orphaned" : "running"
      }),
    counters: (sessionId) => entries.get(sessionId)?.counters ?? { skippedFrames: 0, rateLimited: 0 }
  }
  return service
})

/** The registry as a layer. */
export const layer: Layer.Layer<Registry, never, ServerConfig.Config> = Layer.scoped(Registry, make)
