import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, JSONSchema, Schema } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Model from "../../src/model/Model.js"
import * as Overrides from "../../src/model/Overrides.js"
import * as Param from "../../src/model/Param.js"

const Config = Schema.Struct({
  name: Param.string({ default: "x" }),
  fps: Param.int({ min: 1, max: 120, default: 30 }),
  scale: Param.number({ default: 1 }),
  loop: Param.boolean({ default: false }),
  mode: Param.literal(["fast", "slow"], { default: "fast" }),
  nested: Schema.optionalWith(Schema.Struct({ label: Schema.String, depth: Schema.Number }), { exact: true })
})
const jsonSchema = JSONSchema.make(Config)

describe("Overrides.extract", () => {
  it("takes --model.key=value and --model.key value out of argv, leaving the rest in order", () => {
    expect(
      Overrides.extract(["run", "m.ts", "--model.fps=60", "--port", "1", "--model.name", "a b", "--model.a.b=c=d"])
    )
      .toEqual({
        overrides: [
          { path: ["fps"], raw: "60" },
          { path: ["name"], raw: "a b" },
          { path: ["a", "b"], raw: "c=d" }
        ],
        rest: ["run", "m.ts", "--port", "1"]
      })
  })

  it("reads a bare --model.flag as true, and an empty value as empty", () => {
    expect(Overrides.extract(["--model.loop", "--runtime", "headless", "--model.name="]).overrides).toEqual([
      { path: ["loop"], raw: "true" },
      { path: ["name"], raw: "" }
    ])
    expect(Overrides.extract(["--model.loop"]).overrides).toEqual([{ path: ["loop"], raw: "true" }])
  })
})

describe("Overrides.apply", () => {
  const apply = (value: unknown, ...args: Array<string>) =>
    Overrides.apply(value, Overrides.extract(args).overrides, jsonSchema)

  it("types each value by the schema at its path: strings stay text, the rest are YAML scalars", () => {
    expect(
      apply({}, "--model.name=60", "--model.fps=60", "--model.scale=0.5", "--model.loop=true", "--model.mode=slow")
    )
      .toEqual({ name: "60", fps: 60, scale: 0.5, loop: true, mode: "slow" })
    expect(apply({}, "--model.nested.label=007", "--model.nested.depth=7")).toEqual({
      nested: { label: "007", depth: 7 }
    })
  })

  it("overrides the file's values without changing the file's object", () => {
    const file = { fps: 10, nested: { label: "a", depth: 1 } }
    expect(apply(file, "--model.nested.depth=2")).toEqual({ fps: 10, nested: { label: "a", depth: 2 } })
    expect(file).toEqual({ fps: 10, nested: { label: "a", depth: 1 } })
  })

  it.prop("any config, written as overrides, decodes back to itself", [Arbitrary.make(Config)], ([config]) => {
    const show = (value: unknown) => (Object.is(value, -0) ? "-0" : String(value))
    const args: Array<string> = []
    for (const [key, value] of Object.entries(config)) {
      if (typeof value === "object" && value !== null) {
        for (const [inner, v] of Object.entries(value)) args.push(`--model.${key}.${inner}=${show(v)}`)
      } else args.push(`--model.${key}=${show(value)}`)
    }
    const merged = Overrides.apply({}, Overrides.extract(args).overrides, jsonSchema)
    expect(Schema.decodeUnknownSync(Config)(merged)).toEqual(config)
  }, { fastCheck: { numRuns: 200 } })
})

describe("Overrides through Model.make", () => {
  const model = Model.make({
    name: "m",
    commands: Command.group(),
    config: Config,
    session: () => Effect.succeed({ handlers: {}, run: Effect.never })
  })
  const load = (value: unknown, args: Array<string>) =>
    Effect.flatMap(Model.Model, (loaded) => Effect.succeed(loaded.config)).pipe(
      Effect.provide(model),
      Effect.provide(
        Model.ConfigInput.layer({ source: "c.yaml", value, overrides: Overrides.extract(args).overrides })
      ),
      Effect.exit
    )

  it.effect("apply over the file and the schema's defaults", () =>
    Effect.gen(function*() {
      const exit = yield* load({ fps: 10 }, ["--model.fps=60", "--model.name=7"])
      expect(exit).toEqual(Exit.succeed({ name: "7", fps: 60, scale: 1, loop: false, mode: "fast" }))
    }))

  it.effect("a wrong override is a ConfigError naming the source, the key and the expectation", () =>
    Effect.gen(function*() {
      const exit = yield* load({}, ["--model.fps=fast", "--model.nope=1"])
      if (Exit.isSuccess(exit)) throw new Error("expected a ConfigError")
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error).toBeInstanceOf(Model.ConfigError)
      expect((error as Model.ConfigError).source).toBe("c.yaml")
      expect((error as Model.ConfigError).issues).toEqual([
        { path: "nope", message: expect.stringContaining("is unexpected") },
        { path: "fps", message: `Expected number, actual "fast"` }
      ])
    }))
})
