import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as Frame from "../../src/model/Frame.js"
import * as FrameBus from "../../src/session/FrameBus.js"

const out = (index: number): FrameBus.OutFrame => ({ index, frame: Frame.black(1, 1), generatedAt: 0, emittedAt: 0 })

describe("FrameBus", () => {
  it.effect("a slow subscriber drops the oldest frames and counts them; a fast one misses nothing", () =>
    Effect.gen(function*() {
      const bus = yield* FrameBus.make
      const slow = yield* bus.subscribe(3)
      const fast = yield* bus.subscribe(16)
      for (let i = 0; i < 10; i++) yield* bus.publish(out(i))
      expect((yield* slow.takeAll).map((f) => f.index)).toEqual([7, 8, 9])
      expect(yield* slow.dropped).toBe(7)
      expect((yield* fast.takeAll).map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(yield* fast.dropped).toBe(0)
      expect(yield* bus.dropped).toBe(7)
    }).pipe(Effect.scoped))

  it.effect("holds the last frame: a late subscriber gets it at once", () =>
    Effect.gen(function*() {
      const bus = yield* FrameBus.make
      expect(yield* bus.latest).toBeUndefined()
      for (let i = 0; i < 3; i++) yield* bus.publish(out(i))
      const late = yield* bus.subscribe(4)
      expect((yield* late.take).index).toBe(2)
      expect((yield* bus.latest)?.index).toBe(2)
    }).pipe(Effect.scoped))

  it.effect("an ended subscription no longer receives frames", () =>
    Effect.gen(function*() {
      const bus = yield* FrameBus.make
      const kept = yield* bus.subscribe(2)
      yield* Effect.scoped(bus.subscribe(2))
      for (let i = 0; i < 5; i++) yield* bus.publish(out(i))
      expect(yield* bus.dropped).toBe(3)
      expect((yield* kept.takeAll).map((f) => f.index)).toEqual([3, 4])
    }).pipe(Effect.scoped))
  it.effect("takeBatch waits for a frame, then takes everything buffered, oldest first; shutdown interrupts a waiting take", () =>
    Effect.gen(function*() {
      const bus = yield* FrameBus.make
      const sub = yield* bus.subscribe(4)
      const waiting = yield* Effect.fork(sub.takeBatch)
      yield* Effect.yieldNow()
      for (let i = 0; i < 3; i++) yield* bus.publish(out(i))
      // The waiter resumes with the first frame (at least); what it did not take is still buffered, in order.
      const first = yield* Fiber.join(waiting)
      expect([...first, ...(yield* sub.takeAll)].map((f) => f.index)).toEqual([0, 1, 2])
      for (let i = 3; i < 9; i++) yield* bus.publish(out(i))
      expect((yield* sub.takeBatch).map((f) => f.index)).toEqual([5, 6, 7, 8])
      expect(yield* sub.dropped).toBe(2)
      const blocked = yield* Effect.fork(sub.take)
      yield* Effect.yieldNow()
      yield* bus.shutdown
      const exit = yield* Fiber.await(blocked)
      expect(Exit.isInterrupted(exit)).toBe(true)
    }).pipe(Effect.scoped))
})
