import type { RpcGroup } from "@effect/rpc"
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck } from "effect"
import { Commands as PromptCommands } from "../../examples/01-prompt.js"
import * as CommandLine from "../../src/cli/CommandLine.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"
import * as Mailbox from "../../src/session/Mailbox.js"
import * as CommandArbitrary from "../../src/testing/CommandArbitrary.js"
import { Commands as FixtureCommands } from "../fixtures/cli-released.js"

const Commands = Command.group(
  Command.make("set_prompt", { description: "prompt", payload: { prompt: Param.string() } }),
  Command.make("move", { description: "move", payload: { direction: Param.literal(["left", "right"]) } }),
  Command.make("set_speed", { description: "speed", payload: { speed: Param.number({ min: 0, max: 4, default: 1 }) } }),
  Command.make("set_steps", {
    description: "steps",
    payload: { steps: Param.int({ min: 1, max: 50 }), label: Param.string({ default: "x" }) }
  }),
  Command.make("toggle", { description: "toggle", payload: { on: Param.boolean() } }),
  Command.make("reset", { description: "no parameters" })
)
const caps = Capabilities.ofGroup(Commands)

const parsed = (line: string, commands = caps) => {
  const result = CommandLine.parse(line, commands)
  if (Either.isLeft(result)) throw new Error(`expected a parse, got ${result.left.message}`)
  return result.right
}
const incoming = (line: string, commands = caps) => {
  const result = parsed(line, commands)
  if (result._tag !== "Command") throw new Error(`expected a command, got ${result._tag}`)
  return result.incoming
}
const failure = (line: string) => {
  const result = CommandLine.parse(line, caps)
  if (Either.isRight(result)) throw new Error(`expected an error, got ${JSON.stringify(result.right)}`)
  return result.left
}

describe("CommandLine.parse", () => {
  it("reads the human form, typing values by the parameter schema", () => {
    expect(incoming(`set_prompt prompt="a rainy night"`)).toEqual({
      type: "set_prompt",
      data: { prompt: "a rainy night" }
    })
    expect(incoming("move direction=left")).toEqual({ type: "move", data: { direction: "left" } })
    expect(incoming("set_speed speed=0.5")).toEqual({ type: "set_speed", data: { speed: 0.5 } })
    expect(incoming("set_steps steps=12 label=7")).toEqual({ type: "set_steps", data: { steps: 12, label: "7" } })
    expect(incoming("toggle on=true")).toEqual({ type: "toggle", data: { on: true } })
    expect(incoming("toggle on=false")).toEqual({ type: "toggle", data: { on: false } })
    expect(incoming("reset")).toEqual({ type: "reset", data: {} })
  })

  it("accepts quotes: double (JSON escapes), single (literal), and quoted numbers for numeric parameters", () => {
    expect(incoming(`set_prompt prompt='it said "hi"'`).data).toEqual({ prompt: `it said "hi"` })
    expect(incoming(`set_prompt prompt="tab\\there \\u00e9"`).data).toEqual({ prompt: "tab\there é" })
    expect(incoming(`set_prompt prompt="42"`).data).toEqual({ prompt: "42" })
    expect(incoming(`set_prompt prompt=42`).data).toEqual({ prompt: "42" })
    expect(incoming(`set_speed speed="0.25"`).data).toEqual({ speed: 0.25 })
    expect(incoming(`set_prompt prompt=`).data).toEqual({ prompt: "" })
  })

  it("leaves a value that does not fit its type as text, for the session to reject with the expectation", () => {
    expect(incoming("set_speed speed=fast").data).toEqual({ speed: "fast" })
    expect(incoming("toggle on=yes").data).toEqual({ on: "yes" })
    expect(incoming("set_steps steps=").data).toEqual({ steps: "" })
  })

  it("guesses types for unknown commands and parameters (the session names them in its error)", () => {
    expect(incoming("jump height=2 high=true name=x")).toEqual({
      type: "jump",
      data: { height: 2, high: true, name: "x" }
    })
    expect(incoming("set_speed speed=1 extra=2").data).toEqual({ speed: 1, extra: 2 })
  })

  it("reads JSON commands and Reactor's envelope", () => {
    expect(incoming(`{"type":"set_prompt","data":{"prompt":"a rainy night"}}`)).toEqual({
      type: "set_prompt",
      data: { prompt: "a rainy night" }
    })
    expect(incoming(`{"scope":"application","data":{"type":"move","data":{"direction":"left"}}}`)).toEqual({
      type: "move",
      data: { direction: "left" }
    })
    expect(incoming(`{"type":"reset","id":3}`)).toEqual({ type: "reset", data: undefined, id: 3 })
  })

  it("tells what is wrong with an unreadable line", () => {
    expect(failure("{bad")).toMatchObject({ code: "invalid_json", message: expect.stringContaining("invalid JSON") })
    expect(failure("[1, 2]")).toMatchObject({
      code: "invalid_json",
      message: expect.stringContaining("must be an object")
    })
    expect(failure(`set_prompt prompt="open`)).toMatchObject({
      code: "invalid_line",
      message: "unterminated double quote at column 19"
    })
    expect(failure(`set_prompt prompt='open`).message).toBe("unterminated single quote at column 19")
    expect(failure("set_speed 0.5").message).toBe(`expected key=value after the command name, got "0.5"`)
    expect(failure("set_speed =0.5").message).toBe(`expected key=value after the command name, got "=0.5"`)
    expect(failure("set_speed speed=1 speed=2").message).toBe(`parameter "speed" is given twice`)
    expect(failure(`"set_speed" speed=1`).message).toContain("starts with the command name")
    expect(failure(`set_prompt prompt="bad \\q escape"`).message).toBe("bad escape in the quoted text at column 19")
  })

  it("has a built-in help, blank lines and comments", () => {
    expect(parsed("help")._tag).toBe("Help")
    expect(parsed("  ")._tag).toBe("Empty")
    expect(parsed("# a comment")._tag).toBe("Empty")
    const withHelp = Capabilities.ofGroup(Command.group(Command.make("help", { description: "the model's own" })))
    expect(incoming("help", withHelp)).toEqual({ type: "help", data: {} })
  })

  const groups: Record<string, RpcGroup.RpcGroup<any>> = {
    "a mixed group": Commands,
    "examples/01-prompt": PromptCommands,
    "the CLI fixture": FixtureCommands
  }
  for (const [name, group] of Object.entries(groups)) {
    const capabilities = Capabilities.ofGroup(group)

    it.prop(`${name}: a formatted command parses back to the same payload, which the session accepts`, [
      CommandArbitrary.valid(group)
    ], ([command]) => {
      const line = CommandLine.format(command.type, command.data as Record<string, unknown>)
      const result = incoming(line, capabilities)
      expect(result).toEqual({ type: command.type, data: command.data })
      expect(Either.isRight(Mailbox.decode(group, result)), line).toBe(true)
    }, { fastCheck: { numRuns: 200 } })

    it.prop(`${name}: a JSON command parses to itself`, [CommandArbitrary.valid(group)], ([command]) => {
      expect(incoming(JSON.stringify(command), capabilities)).toEqual(command)
    }, { fastCheck: { numRuns: 100 } })
  }

  it.prop("never throws: any line is a command, help, nothing, or a LineError", [
    FastCheck.oneof(
      FastCheck.string(),
      FastCheck.string({ unit: FastCheck.constantFrom("a", "=", "\"", "'", "\\", " ", "{", "}", "1", ".", "_") })
    )
  ], ([line]) => {
    const result = CommandLine.parse(line, caps)
    if (Either.isLeft(result)) expect(["invalid_json", "invalid_line"]).toContain(result.left.code)
    else expect(["Command", "Help", "Empty"]).toContain(result.right._tag)
  }, { fastCheck: { numRuns: 500 } })
})
