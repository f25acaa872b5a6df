import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Commands, model } from "../../examples/01-prompt.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import { ModelTest } from "../../src/testing/index.js"
import { commandProperties } from "../fixtures/core-properties.js"

describe("examples/01-prompt", () => {
  commandProperties({
    model,
    commands: Commands,
    config: { width: 32, height: 18 },
    expected: (commands) =>
      commands.reduce(
        (state, { data, type }) =>
          type === "set_prompt" ? { ...state, prompt: data.prompt } : { ...state, speed: data.speed ?? 1 },
        { prompt: "a calm sea at dawn", speed: 1 }
      )
  })

  it("offers a text field and a bounded slider", () => {
    expect(Capabilities.toReactor(Capabilities.ofGroup(Commands))).toMatchObject([
      { name: "set_prompt", schema: { prompt: { type: "string", required: true } } },
      { name: "set_speed", schema: { speed: { type: "number", minimum: 0, maximum: 4, default: 1, required: false } } }
    ])
  })

  it.effect("renders frames of the configured size that change with the prompt", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const before = yield* session.frame
        expect(before.frame).toMatchObject({ width: 32, height: 18 })
        yield* session.send({ type: "set_prompt", data: { prompt: "a rainy night" } })
        yield* session.advance(100)
        const after = (yield* session.bufferedFrames).at(-1)!
        expect(after.index).toBeGreaterThan(before.index)
        expect(Buffer.compare(before.frame.data, after.frame.data)).not.toBe(0)
      }), { config: { width: 32, height: 18 } }))
})
