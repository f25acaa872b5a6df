/**
 * Which connections view which session, and what happens to a session without any. A session has at most one
 * controller (it sends commands, input frames and stops) and any number of watchers (they see its frames, messages
 * and state, up to `maxWatchers`). A newer controller replaces the current one; watchers come and go. A session with
 * no connection at all is orphaned: one that attaches within the grace window resumes it (state intact); after the
 * window it is stopped cooperatively (`Stopped{by:"orphaned"}`). Sessions also get a maximum duration.
 *
 * Why one controller and watchers, not every viewer controlling: a world model takes one stream of steering (two
 * people's WASD interleaved is incoherent motion) and one camera per input track, and the model author should not
 * have to arbitrate; a reconnecting client (the SDK's `PUT sdp_params`, a reloaded tab) takes its own place back as it
 * always did; and a watcher cannot spend the session's command budget or disturb it, so sharing a view is safe.
 */
import { Clock, Context, Effect, Exit, Fiber, Layer, Option, type Tracer } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as EndReason from "../protocol/EndReason.js"
import type * as SessionId from "../protocol/SessionId.js"
import * as Events from "./Events.js"
import * as Fibers from "./Fibers.js"
import * as Metrics from "./Metrics.js"
import type * as Session from "./Session.js"
import * as Tracing from "./Tracing.js"

/** What a connection may do: drive the session (`controller`), or only see it (`watcher`). */
export type Role = "controller" | "watcher"

/** Watchers of one session at most; one more is refused (`too_many_viewers`). */
export const maxWatchers = 32

/** A transport connection as the registry sees it: something it can close when a newer one takes over. */
export interface Connection {
  readonly role: Role
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
  controller: Connection | undefined
  readonly watchers: Set<Connection>
  attachedBefore: boolean
  orphanTimer: Fiber.RuntimeFiber<unknown> | undefined
}

/** Whether a session has a connection. */
export type State = "running" | "orphaned"

/** Who views a session now. */
export interface Viewers {
  readonly controller: boolean
  readonly watchers: number
}

/** How an attach went: `resumed` = a connection had been attached before; `full` = refused, too many watchers. */
export type Attached = { readonly resumed: boolean; readonly full?: undefined } | { readonly full: number }

/** The registry service. */
export interface Service {
  /** Tracks a new session: orphaned (no socket yet) until a socket attaches; limited to the maximum duration. */
  readonly register: (session: Session.Session) => Effect.Effect<void>
  /**
   * Attaches a connection: a controller replaces (closes) the current controller; a watcher joins the others, or is
   * refused when `maxWatchers` already watch.
   */
  readonly attach: (session: Session.Session, connection: Connection) => Effect.Effect<Attached>
  /** Detaches a connection if it is still attached; a session left without any is orphaned. */
  readonly detach: (session: Session.Session, connection: Connection) => Effect.Effect<void>
  readonly state: (sessionId: SessionId.SessionId) => Effect.Effect<State | undefined>
  /** Who views the session (none for a session the registry does not know). */
  readonly viewers: (sessionId: SessionId.SessionId) => Viewers
  /** The session's transport counters (a detached zeroed set for a session the registry does not know). */
  readonly counters: (sessionId: SessionId.SessionId) => Counters
  /** The session's span, parent of its commands' spans; `undefined` with tracing off. */
  readonly span: (sessionId: SessionId.SessionId) => Tracer.Span | undefined
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
          controller: undefined,
          watchers: new Set(),
          attachedBefore: false,
          orphanTimer: undefined
        }
        entries.set(session.id, entry)
        yield* journal("session_started", session.id)
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
            Effect.zipRight(
              journal("session_ended", session.id, {
                reason: EndReason.code(reason),
                message: EndReason.describe(reason)
              }),
              span === undefined ? Effect.void : Effect.map(Clock.currentTimeNanos, (now) => {
                if (span.sampled) {
                  span.attribute("session.end_reason", EndReason.code(reason))
                  span.attribute("session.end_message", EndReason.describe(reason))
                }
                span.end(now, Exit.void)
              })
            )
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
        if (connection.role === "watcher" && entry.watchers.size >= maxWatchers) return { full: maxWatchers }
        const resumed = entry.attachedBefore
        entry.attachedBefore = true
        yield* cancelOrphanTimer(entry)
        if (connection.role === "watcher") {
          entry.watchers.add(connection)
          yield* journal("connection_opened", session.id, { resumed, role: "watcher" })
          return { resumed }
        }
        const previous = entry.controller
        entry.controller = connection
        if (previous !== undefined) yield* previous.replace
        yield* journal("connection_opened", session.id, { resumed, role: "controller" })
        return { resumed }
      }),
    detach: (session, connection) =>
      Effect.suspend(() => {
        const entry = entries.get(session.id)
        // A connection that was replaced, or whose session ended, leaves no orphan behind.
        if (entry === undefined) return journal("connection_closed", session.id, { orphaned: false })
        if (entry.controller === connection) entry.controller = undefined
        else if (!entry.watchers.delete(connection)) {
          return journal("connection_closed", session.id, { orphaned: false })
        }
        const orphaned = entry.controller === undefined && entry.watchers.size === 0
        return Effect.zipRight(
          journal("connection_closed", session.id, { orphaned }),
          orphaned ? startOrphanTimer(entry) : Effect.void
        )
      }),
    state: (sessionId) =>
      Effect.sync(() => {
        const entry = entries.get(sessionId)
        if (entry === undefined) return undefined
        return entry.controller === undefined && entry.watchers.size === 0 ? "orphaned" : "running"
      }),
    viewers: (sessionId) => {
      const entry = entries.get(sessionId)
      return { controller: entry?.controller !== undefined, watchers: entry?.watchers.size ?? 0 }
    },
    counters: (sessionId) => entries.get(sessionId)?.counters ?? { skippedFrames: 0, rateLimited: 0 },
    span: (sessionId) => entries.get(sessionId)?.span
  }
  return service
})

/** The registry as a layer. */
export const layer: Layer.Layer<Registry, never, ServerConfig.Config> = Layer.scoped(Registry, make)
