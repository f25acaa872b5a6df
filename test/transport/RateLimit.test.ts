/**
 * RateLimit: a token bucket read against explicit clock values (no waiting).
 */
import { describe, expect, it } from "vitest"
import * as RateLimit from "../../src/transport/RateLimit.js"

describe("RateLimit", () => {
  it("allows the burst at once, then one token per 1/perSecond", () => {
    const bucket = RateLimit.make(10, 3, 0)
    expect([RateLimit.take(bucket, 0), RateLimit.take(bucket, 0), RateLimit.take(bucket, 0)]).toEqual([
      true,
      true,
      true
    ])
    expect(RateLimit.take(bucket, 0)).toBe(false)
    expect(RateLimit.waitMs(bucket, 0)).toBe(100)
    expect(RateLimit.take(bucket, 50)).toBe(false)
    expect(RateLimit.waitMs(bucket, 50)).toBe(50)
    expect(RateLimit.take(bucket, 100)).toBe(true)
    expect(RateLimit.take(bucket, 100)).toBe(false)
  })

  it("saves up no more than the burst", () => {
    const bucket = RateLimit.make(10, 2, 0)
    RateLimit.take(bucket, 0)
    RateLimit.take(bucket, 0)
    // an hour later: still only the burst
    const later = 3_600_000
    expect([RateLimit.take(bucket, later), RateLimit.take(bucket, later), RateLimit.take(bucket, later)]).toEqual([
      true,
      true,
      false
    ])
  })

  it("a clock going backwards gives nothing back and takes nothing", () => {
    const bucket = RateLimit.make(1, 1, 1000)
    expect(RateLimit.take(bucket, 1000)).toBe(true)
    expect(RateLimit.take(bucket, 500)).toBe(false)
    expect(RateLimit.take(bucket, 2000)).toBe(true)
  })

  it("charges many tokens at once into debt, and the wait covers the whole debt (a message of 1000 requests)", () => {
    const bucket = RateLimit.make(1000, 1000, 0)
    expect(RateLimit.charge(bucket, 999, 0)).toBe(0)
    // 1000 more than the one left: a debt of 999 tokens, paid back at 1000 a second
    expect(RateLimit.charge(bucket, 1000, 0)).toBe(1000)
    expect(RateLimit.waitMs(bucket, 500)).toBe(500)
    expect(RateLimit.take(bucket, 999)).toBe(false)
    expect(RateLimit.take(bucket, 1000)).toBe(true)
  })
})
