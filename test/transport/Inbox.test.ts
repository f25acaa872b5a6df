/**
 * Inbox: items come out in the order they went in; reading is paused at the high mark and resumed below the low one.
 */
import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import * as Inbox from "../../src/transport/Inbox.js"

describe("Inbox", () => {
  it("keeps arrival order and pauses / resumes the transport at its bounds", async () => {
    const calls: Array<string> = []
    const inbox = Inbox.make<number>({
      pauseAt: 4,
      resumeAt: 2,
      pause: () => calls.push("pause"),
      resume: () => calls.push("resume")
    })
    for (let i = 0; i < 6; i++) inbox.push(i)
    expect(calls).toEqual(["pause"])
    const taken = await Effect.runPromise(Effect.all(Array.from({ length: 6 }, () => inbox.take)))
    expect(taken).toEqual([0, 1, 2, 3, 4, 5])
    expect(calls).toEqual(["pause", "resume"])
    expect(inbox.size()).toBe(0)
  })

  it("a take waits for the next push", async () => {
    const inbox = Inbox.make<string>({ pause: () => {}, resume: () => {} })
    const result = await Effect.runPromise(Effect.gen(function*() {
      const waiting = yield* Effect.fork(inbox.take)
      yield* Effect.yieldNow()
      inbox.push("late")
      return yield* Fiber.join(waiting)
    }))
    expect(result).toBe("late")
  })
})
