/**
 * Fans frames out to consumers, each behind its own bounded buffer that drops the oldest frame when the consumer
 * falls behind, so latency never grows without bound. Each subscription counts what it dropped. The latest frame is
 * kept, so a consumer that joins late (a reload) sees the held frame at once.
 */
import { Effect, type Scope } from "effect"
import type { Frame } from "../model/Frame.js"
import * as Waiters from "./Waiters.js"

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
  readonly latest: Effect.Effect<OutFrame | undefined>
  /** Subscribes for the life of the scope; `capacity` frames are buffered at most. */
  readonly subscribe: (capacity: number) => Effect.Effect<Subscription, never, Scope.Scope>
  /** Frames dropped across all current and past subscriptions. */
  readonly dropped: Effect.Effect<number>
  /** Ends every subscription (their `take` is interrupted). */
  readonly shutdown: Effect.Effect<void>
}

/**
 * A subscription's buffer: a plain array (at most `capacity` frames) and the callbacks of the fibers waiting on it.
 * Publishing is synchronous and allocates nothing per subscriber beyond the array slot; a consumer that finds frames
 * buffered takes them without suspending, and one that waits is resumed by a callback (no `Deferred`, no queue).
 */
interface Subscriber {
  buffer: Array<OutFrame>
  readonly capacity: number
  dropped: number
  closed: boolean
  readonly waiters: Waiters.Waiters
  deliver: ((frame: OutFrame) => void) | undefined
}

const wake = (sub: Subscriber) => Waiters.wakeAll(sub.waiters)

/** Resumes when the subscriber has a frame or is closed. */
const waitFor = (sub: Subscriber): Effect.Effect<void> => Waiters.wait(sub.waiters)

const close = (sub: Subscriber) => {
  sub.closed = true
  sub.buffer = []
  wake(sub)
}

/** Creates a frame bus. */
export const make: Effect.Effect<FrameBus> = Effect.sync(() => {
  const subscribers = new Set<Subscriber>()
  let latest: OutFrame | undefined
  let droppedTotal = 0
  return {
    publish: (frame) =>
      Effect.sync(() => {
        for (const sub of subscribers) {
          if (sub.closed) continue
          if (sub.deliver !== undefined) {
            try {
              sub.deliver(frame)
            } catch {
              // A consumer's failure is its own; the other consumers and the publisher go on.
            }
            continue
          }
          // Drop the oldest frame: a slow consumer always gets the newest ones.
          if (sub.buffer.length >= sub.capacity) {
            sub.buffer.shift()
            sub.dropped++
            droppedTotal++
          }
          sub.buffer.push(frame)
          wake(sub)
        }
        latest = frame
      }),
    latest: Effect.sync(() => latest),
    subscribe: (capacity) =>
      Effect.gen(function*() {
        const sub: Subscriber = { buffer: [], capacity: Math.max(1, capacity), dropped: 0, closed: false, waiters: Waiters.make(), deliver: undefined }
        if (latest !== undefined) sub.buffer.push(latest)
        subscribers.add(sub)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            subscribers.delete(sub)
            close(sub)
          })
        )
        const take: Effect.Effect<OutFrame> = Effect.suspend(() => {
          if (sub.buffer.length > 0) return Effect.succeed(sub.buffer.shift()!)
          if (sub.closed) return Effect.interrupt
          return Effect.zipRight(waitFor(sub), take)
        })
        const takeBatch: Effect.Effect<ReadonlyArray<OutFrame>> = Effect.suspend(() => {
          if (sub.buffer.length > 0) {
            const batch = sub.buffer
            sub.buffer = []
            return Effect.succeed(batch)
          }
          if (sub.closed) return Effect.interrupt
          return Effect.zipRight(waitFor(sub), takeBatch)
        })
        return {
          take,
          takeAll: Effect.sync(() => {
            const batch = sub.buffer
            sub.buffer = []
            return batch
          }),
          takeBatch,
          dropped: Effect.sync(() => sub.dropped),
          deliverTo: (deliver) =>
            Effect.sync(() => {
              if (!sub.closed) sub.deliver = deliver
            })
        }
      }),
    dropped: Effect.sync(() => droppedTotal),
    shutdown: Effect.sync(() => {
      for (const sub of subscribers) close(sub)
    })
  }
})
