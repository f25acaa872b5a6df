/**
 * A model driven by its input track, in a closed loop (the viewer sends its next camera frame once it has the last
 * output): the pacer measures the model's computing time, not the wait for the next frame, so an output is released
 * as soon as it is made, even right after a slow round (before, a slow round raised the rate estimate and the next
 * frames were held for most of it: bench 14a lost ~18 of 41 ms per frame).
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Stream, TestClock } from "effect"
import * as Frame from "../../src/model/Frame.js"
import * as Input from "../../src/model/Input.js"
import * as InputTracks from "../../src/session/InputTracks.js"
import * as Pacer from "../../src/session/Pacer.js"

const inputs = { cam: Input.video({ description: "camera" }) }
const camera = (): Input.Incoming => ({ width: 2, height: 2, data: new Uint8Array(12) })
const computeMs = 10

/** A turn of the real event loop (the pacer releases a frame due now on the next one). */
const turn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/**
 * One session's input side and pacer, a model that computes `computeMs` per camera frame and emits one frame, and a
 * closed-loop viewer that waits `delays[k]` after output k before it sends the next camera frame. Returns, per frame,
 * the time from the camera frame's arrival to the output's release.
 */
const closedLoop = (delays: ReadonlyArray<number>, awaitInput: boolean) =>
  Effect.gen(function*() {
    const released: Array<number> = []
    const pacer = yield* Pacer.make({
      publish: () => Effect.map(Clock.currentTimeMillis, (at) => void released.push(at))
    })
    const tracks = yield* InputTracks.make(
      inputs,
      InputTracks.defaultCapacity,
      undefined,
      awaitInput ? pacer.awaitingInput : undefined
    )
    yield* Stream.runForEach(
      tracks.track("cam")!.frames,
      () => Effect.zipRight(Effect.sleep(computeMs), pacer.push([Frame.black(2, 2)]))
    ).pipe(Effect.forkScoped)
    yield* turn
    const latencies: Array<number> = []
    for (const delay of [0, ...delays]) {
      yield* TestClock.adjust(delay)
      const sentAt = yield* Clock.currentTimeMillis
      const before = released.length
      yield* tracks.push("cam", camera())
      // The model computes, then the pacer releases (at once, or after a hold): 1 ms steps, up to 2 s.
      for (let waited = 0; released.length === before && waited < 2000; waited++) {
        yield* turn
        yield* TestClock.adjust(1)
        yield* turn
      }
      latencies.push(released[before]! - sentAt)
    }
    return latencies
  }).pipe(Effect.scoped)

describe("a model driven by its input track (closed loop, test clock)", () => {
  // Fast rounds, one slow round (the viewer stalled 400 ms), fast rounds again.
  const delays = [20, 20, 20, 20, 400, 20, 20, 20, 20, 20, 20]

  it.effect("every output is released when the model has made it, right after a slow round too", () =>
    Effect.gen(function*() {
      const latencies = yield* closedLoop(delays, true)
      expect(latencies).toEqual(latencies.map(() => computeMs))
    }))

  it.effect("(the same loop with the wait counted as generation time holds the frames after the slow round)", () =>
    Effect.gen(function*() {
      const latencies = yield* closedLoop(delays, false)
      expect(Math.max(...latencies.slice(6))).toBeGreaterThan(computeMs + 20)
    }))
})

describe("Pacer.awaitingInput", () => {
  /** The interval estimate after a block of 8 made in 80 ms, a gap spent as `gap` says, and 80 ms more. */
  const estimate = (gap: (pacer: Pacer.Pacer, wait: Effect.Effect<void>) => Effect.Effect<void>) =>
    Effect.gen(function*() {
      const pacer = yield* Pacer.make({ publish: () => Effect.void })
      yield* TestClock.adjust(80)
      yield* pacer.push([Frame.black(2, 2)])
      yield* gap(pacer, TestClock.adjust(600))
      yield* TestClock.adjust(80)
      yield* pacer.push([Frame.black(2, 2)])
      return (yield* pacer.intervalMs)!
    }).pipe(Effect.scoped)

  it.effect("the wait does not count; nor does it end the model's own pause, or the pause its wait", () =>
    Effect.gen(function*() {
      expect(yield* estimate((_, wait) => wait)).toBe(680)
      expect(yield* estimate((pacer, wait) => pacer.awaitingInput(wait))).toBe(80)
      // the model resumes inside the wait: the rest of the wait still does not count, what follows it does
      expect(
        yield* estimate((pacer) =>
          Effect.gen(function*() {
            yield* pacer.pause
            yield* pacer.awaitingInput(Effect.zipRight(TestClock.adjust(100), pacer.resume))
            yield* TestClock.adjust(500)
          })
        )
      ).toBe(580)
      expect(
        yield* estimate((pacer, wait) =>
          Effect.gen(function*() {
            yield* pacer.pause
            yield* pacer.awaitingInput(wait)
            yield* pacer.resume
          })
        )
      ).toBe(80)
    }))
})
