/**
 * Fans frames out to consumers, each behind its own bounded buffer that drops the oldest frame when the consumer
 * falls behind, so latency never grows without bound. Each subscription counts what it dropped. The latest frame is
 * kept, so a consumer that joins late (a reload) sees the held frame at once.
 */
import { Chunk, Effect, Option, Queue, type Scope } from "effect"
import type { Frame } from "../model/Frame.js"

/** A frame on its way out, with its place in the session's stream. */
export interface OutFrame {
  /** 0-based index of the frame in the session. */
  readonly index: number
  readonly frame: Frame
  /** When the model emitted the block holding this frame (epoch ms). */
  readonly generatedAt: number
  /** When the pacer released it (epoch ms). */
  readonly emittedAt: number
  /** What the model attached to this frame for the client (a JSON value), if anything. */
  readonly metadata?: unknown
  /** The frames of the model's other video tracks released with this one, if any. */
  readonly extras?: ReadonlyArray<Extra>
}

/** Another video track's frame, released with the primary track's. */
export interface Extra {
  readonly track: string
  readonly frame: Frame
}

/** One consumer's view of the frame stream. */
export interface Subscription {
  /** Waits for the next frame. */
  readonly take: Effect.Effect<OutFrame>
  /** Takes every frame buffered now (possibly none). */
  readonly takeAll: Effect.Effect<ReadonlyArray<OutFrame>>
  /** Waits until at least one frame is buffered, then takes every buffered frame (oldest first). */
  readonly takeBatch: Effect.Effect<ReadonlyArray<OutFrame>>
  /** Frames this consumer missed because it was too slow. */
  readonly dropped: Effect.Effect<number>
  /**
   * Hands every frame published from now on to `deliver`, synchronously, in the publisher's fiber, instead of
   * buffering it (what is buffered now stays for `take`). For a consumer whose handling is itself synchronous and
   * cheap (writing a message to a socket): it saves a fiber wake-up per frame, and such a consumer is never behind,
   * so it drops nothing. `deliver` must not throw (what it throws is swallowed).
   */
  readonly deliverTo: (deliver: (frame: OutFrame) => void) => Effect.Effect<void>
}

/** The fan-out point. */
export interface FrameBus {
  readonly publish: (frame: OutFrame) => Effect.Effect<void>
  /**
   * Publishes from plain code (a port's message callback): hand-off consumers are served at once, and what is left
   * for queued subscriptions comes back as an effect to run (`undefined` when nothing is left).
   */
  readonly unsafePublish: (frame: OutFrame) => Effect.Effect<void> | undefined
  readonly latest: Effect.Effect<OutFrame | undefined>
  /** Subscribes for the life of the scope; `capacity` frames are buffered at most. */
  readonly subscribe: (capacity: number) => Effect.Effect<Subscription, never, Scope.Scope>
  /** Frames dropped across all current and past subscriptions. */
  readonly dropped: Effect.Effect<number>
  /** Ends every subscription (their `take` is interrupted). */
  readonly shutdown: Effect.Effect<void>
}

/**
 * A subscription: a `Queue.sliding` of `capacity` frames (a full queue drops its oldest frame for the newest), its
 * drop count, and, once the consumer asks for it, a synchronous hand-off instead of the queue (`deliverTo`).
 */
interface Subscriber {
  readonly queue: Queue.Queue<OutFrame>
  readonly capacity: number
  dropped: number
  deliver: ((frame: OutFrame) => void) | undefined
}

/** Creates a frame bus. */
export const make: Effect.Effect<FrameBus> = Effect.sync(() => unsafeMake())

/** Creates a frame bus that reports each frame a slow subscriber drops (`onDropped`, e.g. a metrics recorder). */
export const makeCounted = (onDropped: () => void): Effect.Effect<FrameBus> => Effect.sync(() => unsafeMake(onDropped))

const unsafeMake = (onDropped?: () => void): FrameBus => {
  const subscribers = new Set<Subscriber>()
  let latest: OutFrame | undefined
  let droppedTotal = 0
  let closed = false
  // Consumers with a hand-off get the frame here and now; only queued ones cost an effect (the usual raw-RGB socket
  // is a hand-off, so the per-frame path of a streaming session allocates nothing beyond the frame).
  const unsafePublish = (frame: OutFrame): Effect.Effect<void> | undefined => {
    latest = frame
    let queued: Array<Subscriber> | undefined
    for (const sub of subscribers) {
      if (sub.deliver === undefined) {
        ;(queued ??= []).push(sub)
        continue
      }
      try {
        sub.deliver(frame)
      } catch {
        // A consumer's failure is its own; the other consumers and the publisher go on.
      }
    }
    if (queued === undefined) return undefined
    return Effect.forEach(queued, (sub) => {
      // A full sliding queue drops its oldest frame: a slow consumer always gets the newest ones.
      if (Option.getOrElse(sub.queue.unsafeSize(), () => 0) >= sub.capacity) {
        sub.dropped++
        droppedTotal++
        onDropped?.()
      }
      return Queue.offer(sub.queue, frame)
    }, { discard: true })
  }
  return {
    publish: (frame) => Effect.suspend(() => unsafePublish(frame) ?? Effect.void),
    unsafePublish,
    latest: Effect.sync(() => latest),
    subscribe: (capacity) =>
      Effect.gen(function*() {
        const queue = yield* Queue.sliding<OutFrame>(Math.max(1, capacity))
        const sub: Subscriber = { queue, capacity: Math.max(1, capacity), dropped: 0, deliver: undefined }
        if (closed) yield* Queue.shutdown(queue)
        else {
          if (latest !== undefined) yield* Queue.offer(queue, latest)
          subscribers.add(sub)
        }
        yield* Effect.addFinalizer(() =>
          Effect.zipRight(Effect.sync(() => subscribers.delete(sub)), Queue.shutdown(queue))
        )
        return {
          take: Queue.take(queue),
          takeAll: Effect.map(Queue.takeAll(queue), Chunk.toReadonlyArray),
          takeBatch: Effect.map(Queue.takeBetween(queue, 1, Number.MAX_SAFE_INTEGER), Chunk.toReadonlyArray),
          dropped: Effect.sync(() => sub.dropped),
          deliverTo: (deliver) =>
            Effect.sync(() => {
              sub.deliver = deliver
            })
        }
      }),
    dropped: Effect.sync(() => droppedTotal),
    // Ends every subscription: a consumer waiting in `take` is interrupted.
    shutdown: Effect.suspend(() => {
      closed = true
      const all = [...subscribers]
      subscribers.clear()
      return Effect.forEach(all, (sub) => Queue.shutdown(sub.queue), { discard: true })
    })
  }
}
