import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, FastCheck, Fiber, Option, Ref, Scope, TestClock } from "effect"
import * as Batch from "../../src/model/Batch.js"

interface Job {
  readonly session: number
  readonly seq: number
}

/** Advances the TestClock in 5 ms steps until the fiber is done (at most `limit` steps). */
const driveUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>, limit = 400) =>
  Effect.gen(function*() {
    for (let i = 0; i < limit; i++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust(5)
    }
    return yield* Fiber.join(fiber)
  })

/** Lets every forked fiber run until it parks. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("Batch", () => {
  it.effect.prop(
    "every request is answered once with its own output, batches never exceed maxBatch, and each session's inputs run in its order",
    [
      FastCheck.array(FastCheck.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }),
      FastCheck.integer({ min: 1, max: 8 }),
      FastCheck.constantFrom(0, 3, 10)
    ],
    ([perSession, maxBatch, maxWaitMs]) =>
      Effect.scoped(Effect.gen(function*() {
        const batches = yield* Ref.make<ReadonlyArray<ReadonlyArray<Job>>>([])
        const batcher = yield* Batch.make({
          maxBatch,
          maxWaitMs,
          run: (inputs: ReadonlyArray<Job>) =>
            Ref.update(batches, (all) => [...all, inputs]).pipe(
              Effect.zipRight(Effect.sleep(2)),
              Effect.as(inputs.map(({ seq, session }) => `${session}:${seq}`))
            )
        })
        const fiber = yield* Effect.fork(Effect.forEach(
          perSession,
          (count, session) =>
            Effect.forEach(
              Array.from({ length: count }, (_, seq) => seq),
              (seq) => batcher.submit({ session, seq })
            ),
          { concurrency: "unbounded" }
        ))
        const outputs = yield* driveUntilDone(fiber)
        expect(outputs).toEqual(perSession.map((count, s) => Array.from({ length: count }, (_, q) => `${s}:${q}`)))
        const ran = (yield* Ref.get(batches)).flat()
        expect(ran).toHaveLength(perSession.reduce((a, b) => a + b, 0))
        expect((yield* Ref.get(batches)).every((batch) => batch.length >= 1 && batch.length <= maxBatch)).toBe(true)
        perSession.forEach((count, session) =>
          expect(ran.filter((job) => job.session === session).map((job) => job.seq)).toEqual(
            Array.from({ length: count }, (_, q) => q)
          )
        )
        const stats = yield* batcher.stats
        expect([stats.inputs, stats.abandoned, stats.batches]).toEqual([
          ran.length,
          0,
          (yield* Ref.get(batches)).length
        ])
      })),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("requests that arrive while a batch runs are run together in the next one (no wait needed)", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const sizes: Array<number> = []
      const batcher = yield* Batch.make({
        maxBatch: 4,
        run: (inputs: ReadonlyArray<number>) =>
          Effect.sync(() => sizes.push(inputs.length)).pipe(
            Effect.zipRight(Effect.suspend(() => sizes.length === 1 ? Deferred.await(gate) : Effect.void)),
            Effect.as(inputs.map((x) => x * 10))
          )
      })
      const first = yield* Effect.fork(batcher.submit(1))
      yield* settle
      const rest = yield* Effect.fork(Effect.all([2, 3, 4, 5, 6].map(batcher.submit), { concurrency: "unbounded" }))
      yield* settle
      expect(sizes).toEqual([1])
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toBe(10)
      expect(yield* Fiber.join(rest)).toEqual([20, 30, 40, 50, 60])
      expect(sizes).toEqual([1, 4, 1])
    })))

  it.effect("a batch that is not full waits maxWaitMs for more, and a full one goes at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const sizes: Array<number> = []
      const batcher = yield* Batch.make({
        maxBatch: 3,
        maxWaitMs: 20,
        run: (inputs: ReadonlyArray<number>) => Effect.sync(() => (sizes.push(inputs.length), inputs))
      })
      const a = yield* Effect.fork(batcher.submit(1))
      yield* settle
      yield* TestClock.adjust(10)
      expect(sizes).toEqual([])
      const b = yield* Effect.fork(batcher.submit(2))
      yield* settle
      yield* TestClock.adjust(10)
      expect(sizes).toEqual([2])
      expect([yield* Fiber.join(a), yield* Fiber.join(b)]).toEqual([1, 2])
      // Three at once fill a batch: no waiting.
      const full = yield* Effect.fork(Effect.all([3, 4, 5].map(batcher.submit), { concurrency: "unbounded" }))
      yield* settle
      expect(sizes).toEqual([2, 3])
      expect(yield* Fiber.join(full)).toEqual([3, 4, 5])
    })))

  it.effect("a stopped session's request leaves: not run while waiting, its output dropped while running", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const ran: Array<ReadonlyArray<string>> = []
      const batcher = yield* Batch.make({
        maxBatch: 2,
        run: (inputs: ReadonlyArray<string>) =>
          Effect.sync(() => ran.push(inputs)).pipe(
            Effect.zipRight(Effect.suspend(() => ran.length === 1 ? Deferred.await(gate) : Effect.void)),
            Effect.as(inputs.map((x) => x.toUpperCase()))
          )
      })
      // a and b run in the first batch (held by the gate); c and d wait.
      const [a, b] = [yield* Effect.fork(batcher.submit("a")), yield* Effect.fork(batcher.submit("b"))]
      yield* settle
      const [c, d] = [yield* Effect.fork(batcher.submit("c")), yield* Effect.fork(batcher.submit("d"))]
      yield* settle
      expect(ran).toEqual([["a", "b"]])
      // b's session stops mid-batch, c's while waiting.
      yield* Fiber.interrupt(b)
      yield* Fiber.interrupt(c)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(a)).toBe("A")
      expect(yield* Fiber.join(d)).toBe("D")
      expect(ran).toEqual([["a", "b"], ["d"]])
      expect(yield* batcher.stats).toMatchObject({ batches: 2, inputs: 3, abandoned: 1, largest: 2 })
    })))

  it.effect("a failing batch fails only its own requests; the batcher goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      let calls = 0
      const batcher = yield* Batch.make({
        maxBatch: 2,
        run: (inputs: ReadonlyArray<number>) =>
          Effect.gen(function*() {
            calls++
            if (calls === 1) yield* Deferred.await(gate)
            if (inputs.includes(13)) return yield* Effect.fail(`unlucky batch ${inputs.join(",")}`)
            return inputs.map((x) => x + 1)
          })
      })
      const first = yield* Effect.fork(batcher.submit(1))
      yield* settle
      const failing = yield* Effect.fork(
        Effect.all([12, 13].map((x) => Effect.exit(batcher.submit(x))), { concurrency: "unbounded" })
      )
      yield* settle
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toBe(2)
      const exits = yield* Fiber.join(failing)
      expect(exits.map(Exit.isFailure)).toEqual([true, true])
      expect(exits[0]).toEqual(Exit.fail("unlucky batch 12,13"))
      expect(yield* batcher.submit(41)).toBe(42)
    })))

  it.effect("a run returning the wrong number of outputs is a defect naming both counts", () =>
    Effect.scoped(Effect.gen(function*() {
      const batcher = yield* Batch.make({ maxBatch: 4, run: (_: ReadonlyArray<number>) => Effect.succeed([]) })
      const exit = yield* Effect.exit(batcher.submit(1))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("a batch of 1 inputs returned 0 outputs")
    })))

  it.effect("closing the batcher's scope interrupts the requests still waiting or running", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const batcher = yield* Batch.make({
        maxBatch: 1,
        run: (inputs: ReadonlyArray<number>) => Effect.as(Effect.never, inputs)
      }).pipe(Scope.extend(scope))
      const running = yield* Effect.fork(batcher.submit(1))
      const waiting = yield* Effect.fork(batcher.submit(2))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      expect(Exit.isInterrupted(yield* Fiber.await(running))).toBe(true)
      expect(Exit.isInterrupted(yield* Fiber.await(waiting))).toBe(true)
    }))
})
