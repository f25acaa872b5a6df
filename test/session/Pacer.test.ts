import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Frame from "../../src/model/Frame.js"
import * as Pacer from "../../src/session/Pacer.js"

const block = (n: number) => Array.from({ length: n }, () => Frame.black(2, 2))

/** A pacer that records when each frame is released, by index. */
const recorded = Effect.gen(function*() {
  const released: Array<{ index: number; at: number }> = []
  const pacer = yield* Pacer.make({ publish: (out) => Effect.sync(() => released.push({ index: out.index, at: performance.now() })) })
  return { pacer, released }
})

const gaps = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - times[i]!)

describe("Pacer", () => {
  it.live("a block of 8 produced in ~200 ms comes out as 8 frames ~25 ms apart, not a burst", () =>
    Effect.gen(function*() {
      const { pacer, released } = yield* recorded
      for (let i = 0; i < 3; i++) {
        yield* Effect.sleep(200)
        yield* pacer.push(block(8))
      }
      yield* Effect.sleep(300)
      expect(released.map((r) => r.index)).toEqual(Array.from({ length: 24 }, (_, i) => i))
      for (const b of [1, 2]) {
        const times = released.slice(b * 8, b * 8 + 8).map((r) => r.at)
        for (const gap of gaps(times)) {
          expect(gap).toBeGreaterThan(10)
          expect(gap).toBeLessThan(60)
        }
        expect(times[7]! - times[0]!).toBeGreaterThan(120)
      }
      expect(yield* pacer.intervalMs).toBeGreaterThan(15)
      expect(yield* pacer.intervalMs).toBeLessThan(40)
    }).pipe(Effect.scoped))

  it.live("a fast producer is suspended in push while two blocks wait", () =>
    Effect.gen(function*() {
      const { pacer } = yield* Pacer.make({ publish: () => Effect.sleep(20) }).pipe(Effect.map((pacer) => ({ pacer })))
      const started = performance.now()
      for (let i = 0; i < 5; i++) yield* pacer.push(block(2))
      // 5 blocks of 2 with room for 2 waiting and 1 being released: at least ~2 blocks' worth of 20 ms frames.
      expect(performance.now() - started).toBeGreaterThan(60)
      expect(yield* pacer.nextIndex).toBe(10)
    }).pipe(Effect.scoped))

  it.live("an intentional pause does not count toward the generation rate; resume counts again", () =>
    Effect.gen(function*() {
      const measure = (paused: boolean) =>
        Effect.gen(function*() {
          const { pacer } = yield* recorded
          yield* Effect.sleep(80)
          yield* pacer.push(block(8))
          if (paused) yield* pacer.pause
          yield* Effect.sleep(600)
          if (paused) yield* pacer.resume
          yield* Effect.sleep(80)
          yield* pacer.push(block(8))
          return (yield* pacer.intervalMs)!
        }).pipe(Effect.scoped)
      const [withPause, withoutPause] = yield* Effect.all([measure(true), measure(false)], { concurrency: 2 })
      expect(withPause).toBeLessThan(20)
      expect(withoutPause).toBeGreaterThan(25)
    }))

  it.live("maxFps caps the release rate", () =>
    Effect.gen(function*() {
      const released: Array<number> = []
      const pacer = yield* Pacer.make({ maxFps: 50, publish: () => Effect.sync(() => released.push(performance.now())) })
      yield* pacer.push(block(6))
      yield* Effect.sleep(200)
      expect(released).toHaveLength(6)
      for (const gap of gaps(released)) expect(gap).toBeGreaterThan(14)
    }).pipe(Effect.scoped))
})
