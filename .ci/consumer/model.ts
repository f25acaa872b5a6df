// A consumer's model, written against the published package only (compiled by tsc strict/NodeNext, run by plain node).
import { Effect, Ref, Schema } from "effect"
import { Command, Frame, Model, Param, SessionContext } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

export const Commands = Command.group(
  Command.make("set_level", {
    description: "The grey level of the picture",
    payload: { level: Param.int({ min: 0, max: 255, default: 128, description: "Grey level" }) }
  }),
  Command.make("set_label", {
    description: "A label the model echoes back",
    payload: { label: Param.string({ maxLength: 20, description: "Any text" }) }
  })
)

export const model = Model.make({
  name: "consumer-grey",
  commands: Commands,
  config: Schema.Struct({ width: Param.int({ min: 1, max: 64, default: 8 }) }),
  session: ({ config }) =>
    Effect.gen(function*() {
      const ctx = yield* SessionContext
      const state = yield* Ref.make({ level: 128, label: "" })
      const set = (patch: Partial<{ level: number; label: string }>) =>
        Effect.flatMap(Ref.updateAndGet(state, (s) => ({ ...s, ...patch })), (s) => ctx.send({ type: "state", ...s }))
      return {
        handlers: {
          set_level: ({ level }) => set({ level }),
          set_label: ({ label }) => set({ label })
        },
        run: Effect.forever(Effect.gen(function*() {
          const { level } = yield* Ref.get(state)
          yield* ctx.emit(
            Frame.make(config.width, config.width, new Uint8Array(config.width * config.width * 3).fill(level))
          )
          yield* Effect.sleep(10)
        }))
      }
    })
})

export default model

runIfMain(import.meta, model)
