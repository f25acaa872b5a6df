/**
 * Bench 12's TypeScript model, the same as bench/servers/python_bench.py: a fresh frame per emit at a fixed rate,
 * stamped with its wall-clock time (ms, a float64 in its first 8 bytes), and a command that sets the fill value.
 */
import { Effect, Schema } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"

const commands = Command.group(
  Command.make("set_value", { description: "The fill value", payload: { v: Param.int() } })
)

export default Model.make({
  name: "bench-ts",
  commands,
  config: Schema.Struct({
    width: Schema.optionalWith(Schema.Number, { default: () => 640 }),
    height: Schema.optionalWith(Schema.Number, { default: () => 360 }),
    fps: Schema.optionalWith(Schema.Number, { default: () => 30 })
  }),
  session: ({ config, ctx }) =>
    Effect.sync(() => {
      let value = 0
      return {
        handlers: { set_value: ({ v }) => Effect.sync(() => void (value = v % 256)) },
        run: Effect.gen(function*() {
          let nextAt = performance.now()
          while (true) {
            const data = new Uint8Array(config.width * config.height * 3).fill(value)
            new DataView(data.buffer).setFloat64(0, Date.now(), true)
            yield* ctx.emit({ width: config.width, height: config.height, data })
            nextAt += 1000 / config.fps
            yield* Effect.sleep(Math.max(0, nextAt - performance.now()))
          }
        })
      }
    })
})
