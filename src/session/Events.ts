/**
 * The lifecycle journal behind `/events` (Reactor's `event_stream.py`): every session start, connection open and
 * close, recorded segment and session end, numbered in order. A consumer subscribes from a number it has seen and
 * gets what came after it that is still kept, then the live events. Memory is bounded both ways: the last
 * `eventHistory` events are kept for replay, and a consumer that falls that far behind loses its oldest (the numbers
 * it receives then jump, which is how it learns to reconcile from `/health` or `/sessions/{id}/info`).
 */
import { Clock, Context, Effect, Layer, Option, PubSub, Queue, type Scope } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"

/** One lifecycle event. */
export interface Event {
  /** `session_started`, `connection_opened`, `connection_closed`, `session_ended`, `chunk_ready`, ... */
  readonly event: string
  readonly session_id: string
  /** When it happened (epoch ms). */
  readonly ts: number
  readonly detail: Readonly<Record<string, unknown>>
}

/** An event with its number. */
export interface Entry {
  readonly id: number
  readonly event: Event
}

/** A subscription: the kept events after the asked number, then the live ones (never one twice). */
export interface Subscription {
  readonly backlog: ReadonlyArray<Entry>
  /** Waits for the next live event (after the backlog's). */
  readonly take: Effect.Effect<Entry>
}

/** The journal. */
export interface Service {
  /** Records an event and hands it to every subscriber. */
  readonly publish: (
    event: string,
    sessionId: string,
    detail?: Readonly<Record<string, unknown>>
  ) => Effect.Effect<void>
  /**
   * Subscribes for the life of the scope: with `since`, the kept events numbered after it first (all kept ones when
   * `since` is newer than the last: the numbers restarted), then live ones; without, live ones only.
   */
  readonly subscribe: (since: number | undefined) => Effect.Effect<Subscription, never, Scope.Scope>
  /** The last number given (0 before any event). */
  readonly last: Effect.Effect<number>
}

/** The journal's tag. */
export class Events extends Context.Tag("effect-reactor/session/Events")<Events, Service>() {}

/** Builds a journal keeping `history` events. */
export const make = (history: number): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const capacity = Math.max(1, history)
    const kept: Array<Entry> = []
    let seq = 0
    // A slow subscriber loses its oldest events, never holds the publisher.
    const hub = yield* PubSub.sliding<Entry>(capacity)
    return {
      publish: (event, sessionId, detail = {}) =>
        Effect.flatMap(Clock.currentTimeMillis, (ts) => {
          const entry: Entry = { id: ++seq, event: { event, session_id: sessionId, ts, detail } }
          kept.push(entry)
          if (kept.length > capacity) kept.shift()
          return Effect.asVoid(PubSub.publish(hub, entry))
        }),
      subscribe: (since) =>
        Effect.map(PubSub.subscribe(hub), (live): Subscription => {
          // Subscribed before the backlog is read: an event published in between is in both, and the live side
          // skips what the backlog had.
          const from = since === undefined ? seq : since > seq ? 0 : since
          const backlog = kept.filter((entry) => entry.id > from)
          const after = backlog.length > 0 ? backlog[backlog.length - 1]!.id : from
          const take: Effect.Effect<Entry> = Effect.flatMap(
            Queue.take(live),
            (entry) => (entry.id > after ? Effect.succeed(entry) : take)
          )
          return { backlog, take }
        }),
      last: Effect.sync(() => seq)
    } satisfies Service
  })

/** The journal as a layer, keeping `eventHistory` events. */
export const layer: Layer.Layer<Events, never, ServerConfig.Config> = Layer.effect(
  Events,
  Effect.flatMap(ServerConfig.Config, (config) => make(config.eventHistory))
)

/** Records an event when a journal is in context (a server); nothing otherwise. */
export const publish = (event: string, sessionId: string, detail?: Readonly<Record<string, unknown>>) =>
  Effect.flatMap(
    Effect.serviceOption(Events),
    Option.match({ onNone: () => Effect.void, onSome: (events) => events.publish(event, sessionId, detail) })
  )
