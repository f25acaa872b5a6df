/**
 * The frame link's server end, on a real `MessageChannel`: frames the worker's pacer spaced but that arrive bunched
 * (the server's thread was busy) leave spaced again, in order; a fast stream passes straight through.
 */
import { Effect, Fiber } from "effect"
import { MessageChannel } from "node:worker_threads"
import { describe, expect, it } from "vitest"
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
  it("holds frames that arrive bunched to the pacer's catch-up spacing, then delivers them all in order", async () => {
    const { channel, close, delivered } = link()
    const t0 = Date.now()
    // Three frames the worker released 400 ms apart, arriving together.
    for (const [i, at] of [[0, t0], [1, t0 + 400], [2, t0 + 800]] as const) channel.port2.postMessage(wire(i, at))
    await new Promise<void>((resolve) => {
      const check = () => (delivered.length >= 1 ? resolve() : setImmediate(check))
      check()
    })
    await turn()
    await turn()
    // The first goes at once; the second is held (due 300 ms after the first), not sent in the same burst.
    expect(delivered.map((d) => d.index)).toEqual([0])
    await expect.poll(() => delivered.length, { timeout: 5000 }).toBe(3)
    expect(delivered.map((d) => d.index)).toEqual([0, 1, 2])
    await close()
  })

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
