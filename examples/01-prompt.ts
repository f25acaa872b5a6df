/**
 * 01: a prompt-driven generator. Animated procedural video whose palette and motion follow the prompt, with a speed
 * slider. Run it headless: `npx tsx examples/01-prompt.ts`, or serve it: `npx reactor run examples/01-prompt.ts`.
 */
import { Effect, Ref, Schedule, Schema } from "effect"
import { Command, Frame, Model, Param, SessionContext } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

export const Commands = Command.group(
  Command.make("set_prompt", {
    description: "Describe the scene; its words pick the palette and the motion",
    payload: { prompt: Param.string({ description: "What to render, e.g. 'a rainy night'", maxLength: 500 }) }
  }),
  Command.make("set_speed", {
    description: "How fast the animation moves",
    payload: { speed: Param.number({ min: 0, max: 4, default: 1, description: "Animation speed" }) }
  })
)

export const Config = Schema.Struct({
  width: Param.int({ min: 16, max: 1920, default: 320, description: "Frame width" }),
  height: Param.int({ min: 16, max: 1080, default: 180, description: "Frame height" }),
  fps: Param.int({ min: 1, max: 120, default: 30, description: "Frames per second" })
})

/** Hashes the prompt into three hues and a motion style, so the same words always look the same. */
const styleOf = (prompt: string) => {
  let hash = 2166136261
  for (const char of prompt.toLowerCase()) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619)
  const hue = (shift: number) => ((hash >>> shift) & 0xff) / 255
  return { hues: [hue(0), hue(8), hue(16)] as const, swirl: ((hash >>> 24) & 3) + 1 }
}

const render = (width: number, height: number, prompt: string, t: number): Frame.Frame => {
  const { hues, swirl } = styleOf(prompt)
  const data = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width - 0.5
      const v = y / height - 0.5
      const wave = Math.sin(swirl * 6 * Math.sqrt(u * u + v * v) - t + Math.atan2(v, u) * swirl)
      const i = (y * width + x) * 3
      for (let c = 0; c < 3; c++) data[i + c] = 128 + 127 * Math.sin(6.283 * hues[c]! + wave * 2 + t * 0.3 * (c + 1))
    }
  }
  return Frame.make(width, height, data)
}

export const model = Model.make(Commands, {
  name: "prompt-art",
  config: Config,
  session: ({ config }) =>
    Effect.gen(function*() {
      const ctx = yield* SessionContext
      const state = yield* Ref.make({ prompt: "a calm sea at dawn", speed: 1 })
      let t = 0 // animation time
      // Each command tells the client what the model now renders, so a page can show it.
      const set = (patch: Partial<{ prompt: string; speed: number }>) =>
        Effect.flatMap(Ref.updateAndGet(state, (s) => ({ ...s, ...patch })), (s) => ctx.send({ type: "state", ...s }))
      return {
        handlers: {
          set_prompt: ({ prompt }) => set({ prompt }),
          set_speed: ({ speed }) => set({ speed })
        },
        // A frame per tick of a fixed schedule: rendering time is part of the frame's, so the rate holds.
        run: Effect.gen(function*() {
          const { prompt, speed } = yield* Ref.get(state)
          t += speed / config.fps * 2
          yield* ctx.emit(render(config.width, config.height, prompt, t))
        }).pipe(Effect.repeat(Schedule.fixed(1000 / config.fps)))
      }
    })
})

export default model

runIfMain(import.meta, model)
