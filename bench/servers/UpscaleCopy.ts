/**
 * Example 07 with its network call replaced by a copy (each small pixel repeated 2x2, in the network's layout): what
 * the runtime and the model's own pre- and post-processing cost without the network (bench/neural.ts).
 */
import { Effect } from "effect"
import { make } from "../../examples/07-upscale.js"

export default make(() =>
  Effect.succeed({
    upscale: (input: Float32Array, width: number, height: number) =>
      Effect.sync(() => {
        const out = new Float32Array(input.length * 4)
        const plane = width * height
        for (let k = 0; k < 3; k++) {
          for (let y = 0, o = k * plane * 4; y < height * 2; y++) {
            const row = k * plane + (y >> 1) * width
            for (let x = 0; x < width * 2; x++, o++) out[o] = input[row + (x >> 1)]!
          }
        }
        return out
      })
  })
)
