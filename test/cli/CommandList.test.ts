import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { Commands } from "../../examples/01-prompt.js"
import * as CommandLine from "../../src/cli/CommandLine.js"
import * as CommandList from "../../src/cli/CommandList.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"

describe("CommandList.render", () => {
  it("lists every command with its parameters' types, bounds, defaults and descriptions", () => {
    const text = CommandList.render({ name: "prompt-art" }, Capabilities.ofGroup(Commands))
    expect(text).toContain("Commands of prompt-art:")
    expect(text).toContain("  set_prompt: Describe the scene; its words pick the palette and the motion")
    expect(text).toContain("prompt  string, at most 500 characters, required: What to render, e.g. 'a rainy night'")
    expect(text).toContain("  set_speed: How fast the animation moves")
    expect(text).toContain("speed  number 0..4, default 1: Animation speed")
    expect(text).toContain(`set_prompt prompt="text"`)
    expect(text).toContain(`{"type":"set_prompt","data":{"prompt":"text"}}`)
  })

  it("shows choices, one-sided bounds, integers and commands without parameters", () => {
    const group = Command.group(
      Command.make("move", {
        description: "Walk",
        payload: { direction: Param.literal(["left", "right"], { default: "left" }) }
      }),
      Command.make("steps", {
        description: "Steps",
        payload: { n: Param.int({ min: 1 }), m: Param.number({ max: 3 }) }
      }),
      Command.make("reset", { description: "Start over" })
    )
    const text = CommandList.render({ name: "m", version: "2" }, Capabilities.ofGroup(group))
    expect(text).toContain("Commands of m 2:")
    expect(text).toContain(`direction  one of "left" | "right", default "left"`)
    expect(text).toContain("n  integer >= 1, required")
    expect(text).toContain("m  number <= 3, required")
    expect(text).toMatch(/reset: Start over\n {4}\(no parameters\)/)
  })

  it("gives examples the session accepts", () => {
    const group = Command.group(
      Command.make("steps", {
        description: "Steps",
        payload: { n: Param.int({ min: 1, max: 50 }), on: Param.boolean() }
      })
    )
    const [command] = Capabilities.ofGroup(group)
    const line = CommandLine.format(command!.name, CommandList.exampleData(command!))
    expect(line).toBe("steps n=26 on=true")
    expect(Either.isRight(CommandLine.parse(line, [command!]))).toBe(true)
  })
})
