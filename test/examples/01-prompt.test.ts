import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Commands, model } from "../../examples/01-prompt.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Harness from "../fixtures/core-harness.js"
import { commandProperties } from "../fixtures/core-properties.js"

describe("examples/01-prompt", () => {
  commandProperties({
    model,
    commands: Commands,
    config: { width: 32, height: 18 },
    expected: (commands) =>
      commands.reduce(
        (state, { data, type }) => type === "set_prompt" ? { ...state, prompt: data.prompt } : { ...state, speed: data.speed ?? 1 },
        { prompt: "a calm sea at dawn", speed: 1 }
      )
  })

  it("offers a text field and a bounded slider", () => {
    expect(Capabilities.toReactor(Capabilities.ofGroup(Commands))).toMatchObject([
      { name: "set_prompt", schema: { prompt: { type: "string", required: true } } },
      { name: "set_speed", schema: { speed: { type: "number", minimum: 0, maximum: 4, default: 1, required: false } } }
    ])
  })

  it.live("renders frames of the configured size that change with the prompt", () =>
    Effect.gen(function*() {
      const session = yield* Harness.session
      const frames = yield* session.frames(4)
      const before = yield* frames.take
      expect(before.frame).toMatchObject({ width: 32, height: 18 })
      yield* session.submit({ type: "set_prompt", data: { prompt: "a rainy night" } })
      yield* frames.takeAll
      const after = yield* frames.take
      expect(Buffer.compare(before.frame.data, after.frame.data)).not.toBe(0)
    }).pipe(Effect.scoped, Effect.provide(Harness.reactor(model, {}, { width: 32, height: 18 }))))
})
