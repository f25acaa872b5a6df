import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Command from "../../src/model/Command.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"

const Commands = Command.group(
  Command.make("tune", {
    description: "Every kind of parameter",
    payload: {
      strength: Param.number({ min: 0, max: 1, default: 0.5, description: "How strong" }),
      steps: Param.int({ min: 1, max: 50, description: "How many steps" }),
      scale: Param.number({ min: 0, description: "Unbounded above" }),
      prompt: Param.string({ description: "What to draw", maxLength: 100 }),
      loop: Param.boolean({ default: false, description: "Loop it" }),
      style: Param.literal(["oil", "ink"], { default: "ink", description: "The look" })
    }
  }),
  Command.make("reset", { description: "Start over", keys: { press: { r: {} } } }),
  Command.make("plain", {
    description: "Schema without Param",
    payload: { n: Schema.Number, s: Schema.optionalWith(Schema.String, { exact: true }) }
  })
)

const session = () => Effect.never

describe("Capabilities", () => {
  const [tune, reset, plain] = Capabilities.ofGroup(Commands)

  it("keeps names, descriptions and declaration order", () => {
    expect(Capabilities.ofGroup(Commands).map((c) => c.name)).toEqual(["tune", "reset", "plain"])
    expect(tune!.description).toBe("Every kind of parameter")
    expect(reset!.keys).toEqual({ press: { r: {} } })
  })

  it("gives Reactor's shape with bounds, enums, descriptions, defaults and required-ness", () => {
    expect(tune!.schema).toEqual({
      strength: { type: "number", minimum: 0, maximum: 1, default: 0.5, description: "How strong", required: false },
      steps: { type: "integer", minimum: 1, maximum: 50, description: "How many steps", required: true },
      scale: { type: "number", minimum: 0, description: "Unbounded above", required: true },
      prompt: { type: "string", description: "What to draw", required: true },
      loop: { type: "boolean", default: false, description: "Loop it", required: false },
      style: { type: "string", enum: ["oil", "ink"], default: "ink", description: "The look", required: false }
    })
    expect(reset!.schema).toEqual({})
    expect(plain!.schema).toEqual({ n: { type: "number", required: true }, s: { type: "string", required: false } })
    expect(Capabilities.toReactor([reset!])).toEqual([{ name: "reset", description: "Start over", schema: {} }])
  })

  it("gives a JSON Schema that keeps the same facts and refuses extra properties", () => {
    const json = tune!.jsonSchema as any
    expect(json).toMatchObject({
      type: "object",
      title: "tune",
      description: "Every kind of parameter",
      additionalProperties: false
    })
    expect([...json.required].sort()).toEqual(["prompt", "scale", "steps"])
    expect(json.properties.strength).toMatchObject({
      type: "number",
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: "How strong"
    })
    expect(json.properties.steps).toMatchObject({ type: "integer", minimum: 1, maximum: 50 })
    expect(json.properties.prompt).toMatchObject({ type: "string", maxLength: 100 })
    expect(json.properties.style).toMatchObject({ enum: ["oil", "ink"], default: "ink" })
    expect(JSON.stringify(json)).not.toMatch(/between\(|\$ref/)
  })

  const rejected = (field: Schema.Struct.Field) =>
    Command.group(Command.make("paint", { description: "x", payload: { ok: Param.int(), brush: field } }))

  it.each([
    ["a nested object", Schema.Struct({ size: Schema.Number }), /nested object/],
    ["an array", Schema.Array(Schema.Number), /nested array/],
    ["a mixed union", Schema.Union(Schema.String, Schema.Number), /union of different types/],
    ["a number enumeration", Schema.Literal(1, 2), /only string enumerations/]
  ])("rejects %s, naming the command and the parameter", (_, field, reason) => {
    const group = rejected(field)
    expect(() => Capabilities.ofGroup(group)).toThrow(Capabilities.CapabilityError)
    expect(() => Capabilities.ofGroup(group)).toThrow(/command "paint", parameter "brush"/)
    expect(() => Capabilities.ofGroup(group)).toThrow(reason)
    expect(() => Model.make({ name: "bad", commands: group, session })).toThrow(/command "paint", parameter "brush"/)
  })
})
