/**
 * Fans frames out to consumers, each behind its own bounded buffer that drops the oldest frame when the consumer
 * falls behind, so latency never grows without bound. Each subscription counts what it dropped. The latest frame is
 * kept, so a consumer that joins late (a reload) sees the held frame at once.
 */
import { Effect, Option, Queue, Ref, type Scope } from "effect"
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
}

/** One consumer's view of the frame stream. */
export interface Subscription {
  /** Waits for the next frame. */
  readonly take: Effect.Effect<OutFrame>
  /** Takes every frame buffered now (possibly none). */
  readonly takeAll: Effect.Effect<ReadonlyArray<OutFrame>>
  /** Frames this consumer missed because it was too slow. */
  readonly dropped: Effect.Effect<number>
}

/** The fan-out point. */
export interface FrameBus {
  readonly publish: (frame: OutFrame) => Effect.Effect<void>
  readonly latest: Effect.Effect<OutFrame | undefined>
  /** Subscribes for the life of the scope; `capacity` frames are buffered at most. */
  readonly subscribe: (capacity: number) => Effect.Effect<Subscription, never, Scope.Scope>
  /** Frames dropped across all current and past subscriptions. */
  readonly dropped: Effect.Effect<number>
  /** Ends every subscription (their `take` is interrupted). */
  readonly shutdown: Effect.Effect<void>
}

interface Subscriber {
  readonly queue: Queue.Queue<OutFrame>
  readonly capacity: number
  dropped: number
}

/** Creates a frame bus. */
export const make: Effect.Effect<FrameBus> = Effect.gen(function*() {
  const subscribers = new Set<Subscriber>()
  const latest = yield* Ref.make<OutFrame | undefined>(undefined)
  let droppedTotal = 0
  return {
    publish: (frame) =>
      Effect.forEach(
        [...subscribers],
        (sub) => {
          if (sub.queue.unsafeSize().pipe(Option.getOrElse(() => 0)) >= sub.capacity) {
            sub.dropped++
            droppedTotal++
          }
          // `Queue.offer` applies the sliding strategy (drops the oldest); `unsafeOffer` would drop the newest.
          return Queue.offer(sub.queue, frame).pipe(Effect.catchAllCause(() => Effect.void))
        },
        { discard: true }
      ).pipe(Effect.zipRight(Ref.set(latest, frame))),
    latest: Ref.get(latest),
    subscribe: (capacity) =>
      Effect.gen(function*() {
        const queue = yield* Queue.sliding<OutFrame>(Math.max(1, capacity))
        const sub: Subscriber = { queue, capacity: Math.max(1, capacity), dropped: 0 }
        const held = yield* Ref.get(latest)
        if (held !== undefined) Queue.unsafeOffer(queue, held)
        subscribers.add(sub)
        yield* Effect.addFinalizer(() => Effect.sync(() => subscribers.delete(sub)).pipe(Effect.zipRight(Queue.shutdown(queue))))
        return {
          take: Queue.take(queue),
          takeAll: Effect.map(Queue.takeAll(queue), (chunk) => [...chunk]),
          dropped: Effect.sync(() => sub.dropped)
        }
      }),
    dropped: Effect.sync(() => droppedTotal),
    shutdown: Effect.suspend(() => Effect.forEach(subscribers, (sub) => Queue.shutdown(sub.queue), { discard: true }))
  }
})
