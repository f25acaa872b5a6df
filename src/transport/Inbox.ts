/**
 * What a transport received and has not handled yet, drained in arrival order by one fiber (commands must reach the
 * session in the order they were sent). Bounded by back-pressure: at `pauseAt` items the transport is asked to stop
 * reading (a WebSocket's `pause()`), below `resumeAt` to read again; while the connection core paces a flooding
 * client, its messages wait here and then in the kernel's socket buffers, not in the server's memory.
 */
import { Effect } from "effect"
import * as Waiters from "../session/Waiters.js"

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

/** A new inbox; 64 / 16 items by default. */
export const make = <A>(options: Options): Inbox<A> => {
  const pauseAt = options.pauseAt ?? 64
  const resumeAt = options.resumeAt ?? 16
  const items: Array<A> = []
  const waiters = Waiters.make()
  let paused = false
  const take: Effect.Effect<A> = Effect.suspend(() => {
    if (items.length === 0) return Effect.zipRight(Waiters.wait(waiters), take)
    const item = items.shift()!
    if (paused && items.length < resumeAt) {
      paused = false
      options.resume()
    }
    return Effect.succeed(item)
  })
  return {
    push: (item) => {
      items.push(item)
      Waiters.wakeAll(waiters)
      if (!paused && items.length >= pauseAt) {
        paused = true
        options.pause()
      }
    },
    take,
    size: () => items.length
  }
}
