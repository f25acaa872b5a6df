/**
 * Waiters: fibers parked until a condition may have changed, woken all together; a woken fiber re-checks its
 * condition. The RPC transport parks on these where its state is a plain array or set (its command queue, the requests
 * a closing socket still owes an answer) instead of allocating a `Queue` or a `Deferred` per item.
 */
import { Effect } from "effect"

/** Fibers waiting on one condition. */
export type Waiters = Array<() => void>

/** An empty set of waiters. */
export const make = (): Waiters => []

/** Wakes every fiber waiting now. */
export const wakeAll = (waiters: Waiters): void => {
  if (waiters.length === 0) return
  for (const resume of waiters.splice(0, waiters.length)) resume()
}

/** Parks the current fiber until `wakeAll` (or its interruption, which removes it). */
export const wait = (waiters: Waiters): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const waiter = () => resume(Effect.void)
    waiters.push(waiter)
    return Effect.sync(() => {
      const at = waiters.indexOf(waiter)
      if (at >= 0) waiters.splice(at, 1)
    })
  })
