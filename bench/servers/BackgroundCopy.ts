/**
 * Example 06 with its network call replaced by a copy (the picture's red plane taken as the mask), batched the same
 * way: what the runtime and the model's own pre- and post-processing cost without the network (bench/neural.ts).
 */
import { Effect } from "effect"
import { make, side } from "../../examples/06-background.js"
import * as Batch from "../../src/model/Batch.js"

export default make((config) =>
  Effect.map(
    Batch.make({
      maxBatch: config.maxBatch,
      maxWaitMs: config.maxWaitMs,
      run: (pictures: ReadonlyArray<Float32Array>) => Effect.sync(() => pictures.map((p) => p.slice(0, side * side)))
    }),
    (batcher) => ({ segment: batcher.submit })
  )
)
