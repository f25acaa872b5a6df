/**
 * Example 06's network behind its batcher: pictures of several sessions run in one call give each session the mask
 * its own picture gives alone (the batch's pictures laid one after the other in the reused buffer, each output cut
 * back to its own).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Config, loadNetwork, toInput } from "../../examples/06-background.js"
import * as Person from "../fixtures/person.js"

const pictures = [
  Person.picture(640, 360),
  Person.picture(640, 360, false),
  Person.picture(320, 180),
  Person.picture(640, 360)
].map((frame) => toInput(frame))

const maskOf = (config: typeof Config.Type, inputs: ReadonlyArray<Float32Array>) =>
  Effect.gen(function*() {
    const network = yield* loadNetwork(config)
    return yield* Effect.forEach(inputs, (input) => Effect.map(network.segment(input), (mask) => mask.slice()), {
      concurrency: "unbounded"
    })
  }).pipe(Effect.scoped)

describe("examples/06-background: the network batched", () => {
  it.live("each picture of a batch gets the mask it gets alone, batch after batch", () =>
    Effect.gen(function*() {
      const defaults = Schema.decodeUnknownSync(Config)({})
      const alone = yield* maskOf({ ...defaults, maxBatch: 1 }, pictures)
      // A wait long enough for every concurrent submit to join the first batch; then a smaller batch in the same buffer.
      const batched = yield* maskOf({ ...defaults, maxBatch: 4, maxWaitMs: 100 }, [
        ...pictures,
        ...pictures.slice(1, 3)
      ])
      for (const [i, mask] of batched.entries()) {
        const expected = alone[i < 4 ? i : i - 3]!
        let worst = 0
        for (let p = 0; p < mask.length; p++) worst = Math.max(worst, Math.abs(mask[p]! - expected[p]!))
        expect(worst).toBeLessThan(1e-4)
      }
      // the person's picture and the empty one differ: the comparison above can fail
      let differs = 0
      for (let p = 0; p < alone[0]!.length; p++) differs = Math.max(differs, Math.abs(alone[0]![p]! - alone[1]![p]!))
      expect(differs).toBeGreaterThan(0.5)
    }), 60_000)
})
