import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Waiters from "../../src/transport/Waiters.js"

describe("Waiters", () => {
  it.effect("wakeAll resumes every parked fiber, and an interrupted one leaves the list", () =>
    Effect.gen(function*() {
      const waiters = Waiters.make()
      const a = yield* Effect.fork(Waiters.wait(waiters))
      const b = yield* Effect.fork(Waiters.wait(waiters))
      const c = yield* Effect.fork(Waiters.wait(waiters))
      yield* Effect.yieldNow()
      expect(waiters.length).toBe(3)
      yield* Fiber.interrupt(c)
      expect(waiters.length).toBe(2)
      Waiters.wakeAll(waiters)
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      expect(waiters.length).toBe(0)
    }))
})
