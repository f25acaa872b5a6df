/**
 * What a transport received and has not handled yet, drained in arrival order by one fiber (commands must reach the
 * session in the order they were sent). Bounded by back-pressure: at `pauseAt` items the transport is asked to stop
 * reading (a WebSocket's `pause()`), below `resumeAt` to read again; while the connection core paces a flooding
 * client, its messages wait here and then in the kernel's socket buffers, not in the server's memory.
 */
import { Effect, Option, Queue } from "effect"

/** A transport's queue of received items. */
export interface Inbox<A> {
  /** Queues an item (from the transport's receive callback; synchronous). */
  readonly push: (item: A) => void
  /** Waits for the oldest item and takes it. */
  readonly take: Effect.Effect<A>
  readonly size: () => number
}

/** Options: the bounds and what stopping and resuming reading means for the transport. */
export interface Options {
  readonly pauseAt?: number
  readonly resumeAt?: number
  readonly pause: () => void
  readonly resume: () => void
}

/** A new inbox, an unbounded `Queue` whose length the pause/resume bounds keep small; 64 / 16 items by default. */
export const make = <A>(options: Options): Inbox<A> => {
  const pauseAt = options.pauseAt ?? 64
  const resumeAt = options.resumeAt ?? 16
  const queue = Effect.runSync(Queue.unbounded<A>())
  const size = () => Option.getOrElse(queue.unsafeSize(), () => 0)
  let paused = false
  return {
    push: (item) => {
      queue.unsafeOffer(item)
      if (!paused && size() >= pauseAt) {
        paused = true
        options.pause()
      }
    },
    take: Effect.map(Queue.take(queue), (item) => {
      if (paused && size() < resumeAt) {
        paused = false
        options.resume()
      }
      return item
    }),
    size
  }
}
