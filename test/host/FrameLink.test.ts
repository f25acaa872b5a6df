/**
 * The frame link's server end, on a real `MessageChannel`: frames the worker's pacer spaced but that arrive bunched
 * (the server's thread was busy) leave spaced again, in order; a fast stream passes straight through.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { MessageChannel } from "node:worker_threads"
import * as FrameLink from "../../src/host/FrameLink.js"
import type * as FrameBus from "../../src/session/FrameBus.js"

const wire = (index: number, emittedAt: number) => ({
  index,
  width: 2,
  height: 1,
  generatedAt: emittedAt,
  emittedAt,
  data: new Uint8Array(6)
})

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Posts `frames` at once into a link and returns what was delivered, polled after each step. */
const link = () => {
  const channel = new MessageChannel()
  const delivered: Array<FrameBus.OutFrame> = []
  const fiber = Effect.runFork(FrameLink.receive(channel.port1, (out) => void delivered.push(out)))
  /** Closes the worker's end and waits for the link to end. */
  const close = () => {
    channel.port2.close()
    return Effect.runPromise(Fiber.join(fiber))
  }
  return { channel, close, delivered }
}

describe("FrameLink.receive", () => {
  // On the TestClock: the spacing is the link's rule, not the machine's speed.
  it.effect("holds frames that arrive bunched to the pacer's catch-up spacing, then delivers them all in order", () =>
    Effect.gen(function*() {
      const channel = new MessageChannel()
      const delivered: Array<FrameBus.OutFrame> = []
      const fiber = yield* Effect.fork(FrameLink.receive(channel.port1, (out) => void delivered.push(out)))
      const indices = () => delivered.map((d) => d.index)
      const until = (n: number) =>
        Effect.promise(() => expect.poll(() => delivered.length, { timeout: 60_000 }).toBeGreaterThanOrEqual(n))
      // Three frames the worker released 400 ms apart, arriving together.
      for (const [i, at] of [[0, 0], [1, 400], [2, 800]] as const) channel.port2.postMessage(wire(i, at))
      // The first goes at once; the second is due 300 ms (0.75 x 400) after the first, the third 300 ms later.
      yield* until(1)
      yield* Effect.promise(turn)
      yield* TestClock.adjust(299)
      yield* Effect.promise(turn)
      expect(indices()).toEqual([0])
      yield* TestClock.adjust(1)
      yield* until(2)
      expect(indices()).toEqual([0, 1])
      yield* TestClock.adjust(300)
      yield* until(3)
      expect(indices()).toEqual([0, 1, 2])
      channel.port2.close()
      yield* Fiber.join(fiber)
    }))

  it("passes a fast stream straight through (intervals under a millisecond are never held)", async () => {
    const { channel, close, delivered } = link()
    const t0 = Date.now()
    for (let i = 0; i < 20; i++) channel.port2.postMessage(wire(i, t0 + i * 0.05))
    await expect.poll(() => delivered.length, { timeout: 5000 }).toBe(20)
    expect(delivered.map((d) => d.index)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    await close()
  })

  it("delivers the frames still held when the port closes", async () => {
    const { channel, close, delivered } = link()
    const t0 = Date.now()
    for (let i = 0; i < 4; i++) channel.port2.postMessage(wire(i, t0 + i * 1000))
    await expect.poll(() => delivered.length, { timeout: 5000 }).toBe(1)
    await close()
    expect(delivered.map((d) => d.index)).toEqual([0, 1, 2, 3])
  })
})
