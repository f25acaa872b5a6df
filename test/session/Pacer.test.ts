import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, TestClock } from "effect"
import * as Frame from "../../src/model/Frame.js"
import * as Pacer from "../../src/session/Pacer.js"

const block = (n: number) => Array.from({ length: n }, () => Frame.black(2, 2))

/** A pacer that records when (on the test clock) each frame is released, by index. */
const recorded = (options: Partial<Pacer.Options> = {}) =>
  Effect.gen(function*() {
    const released: Array<{ index: number; at: number }> = []
    const pacer = yield* Pacer.make({
      ...options,
      publish: (out) => Effect.map(Clock.currentTimeMillis, (at) => void released.push({ index: out.index, at }))
    })
    return { pacer, released }
  })

/** A turn of the real event loop: a frame due "now" is released on the next one (the pacer yields to I/O). */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** Moves the test clock by `ms` in `step` ms steps, letting the release fiber run after each. */
const advance = (ms: number, step = 5) =>
  Effect.gen(function*() {
    for (let t = 0; t < ms; t += step) {
      yield* TestClock.adjust(Math.min(step, ms - t))
      yield* turn
      yield* turn
    }
  })

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

describe("Pacer (on the test clock)", () => {
  it.effect("a block of 8 produced in 200 ms comes out as 8 frames 25 ms apart, not a burst", () =>
    Effect.gen(function*() {
      const { pacer, released } = yield* recorded()
      for (let i = 0; i < 3; i++) {
        yield* advance(200)
        yield* pacer.push(block(8))
      }
      yield* advance(300)
      expect(released.map((r) => r.index)).toEqual(Array.from({ length: 24 }, (_, i) => i))
      for (const b of [1, 2]) {
        const times = released.slice(b * 8, b * 8 + 8).map((r) => r.at)
        expect(gaps(times)).toEqual(Array(7).fill(25))
      }
      expect(yield* pacer.intervalMs).toBe(25)
    }).pipe(Effect.scoped))

  it.effect("a fast producer is suspended in push while two blocks wait", () =>
    Effect.gen(function*() {
      const { pacer } = yield* recorded()
      yield* advance(100)
      yield* pacer.push(block(2)) // interval 50 ms: released over 100 ms
      yield* pacer.push(block(2))
      yield* pacer.push(block(2))
      const fourth = yield* Effect.fork(pacer.push(block(2)))
      yield* turn
      // One block is being released and two wait: the fourth push waits for room.
      expect(fourth.unsafePoll()).toBeNull()
      yield* advance(100)
      expect(fourth.unsafePoll()).not.toBeNull()
      expect(yield* pacer.nextIndex).toBe(8)
    }).pipe(Effect.scoped))

  it.effect("an intentional pause does not count toward the generation rate; resume counts again", () =>
    Effect.gen(function*() {
      const measure = (paused: boolean) =>
        Effect.gen(function*() {
          const { pacer } = yield* recorded()
          yield* advance(80)
          yield* pacer.push(block(8))
          if (paused) yield* pacer.pause
          yield* advance(600, 50)
          if (paused) yield* pacer.resume
          yield* advance(80)
          yield* pacer.push(block(8))
          return (yield* pacer.intervalMs)!
        }).pipe(Effect.scoped)
      expect(yield* measure(true)).toBe(10)
      expect(yield* measure(false)).toBe(85)
    }))

  it.effect("maxFps caps the release rate", () =>
    Effect.gen(function*() {
      const { pacer, released } = yield* recorded({ maxFps: 50 })
      yield* pacer.push(block(6))
      yield* advance(200)
      expect(released).toHaveLength(6)
      for (const gap of gaps(released.map((r) => r.at))) expect(gap).toBeGreaterThanOrEqual(15)
    }).pipe(Effect.scoped))
})

describe("Pacer.flush", () => {
  it.effect("drops the blocks waiting, the rest of the current one and a block pushed while it ran; then drains", () =>
    Effect.gen(function*() {
      const { pacer, released } = yield* recorded()
      yield* advance(100)
      yield* pacer.push(block(4)) // 0-3, 25 ms apart
      yield* pacer.push(block(4)) // 4-7
      yield* pacer.push(block(4)) // 8-11
      const suspended = yield* Effect.fork(pacer.push(block(4))) // 12-15: waits for room
      yield* advance(30) // frames 0 and 1 are out
      const dropped = yield* pacer.flush
      yield* suspended.await
      yield* pacer.push(block(1)) // 16: after the flush
      yield* advance(200)
      const indices = released.map((r) => r.index)
      expect(indices.slice(0, 2)).toEqual([0, 1])
      // nothing from before the flush after it; the block pushed after it is released
      expect(indices.slice(2)).toEqual([16])
      // what the flush took itself (the suspended block is dropped when the release fiber reaches it)
      expect(dropped).toBe(10)
      // every frame is accounted for: drained opens
      yield* pacer.drained
    }).pipe(Effect.scoped))
})
