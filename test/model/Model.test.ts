import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Ref, Schema, Scope } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"

const Commands = Command.group(Command.make("noop", { description: "Nothing" }))

const Config = Schema.Struct({
  fps: Param.int({ min: 1, max: 120, default: 30, description: "Frames per second" }),
  prompt: Param.string({ default: "sea" }),
  sampler: Schema.Struct({ steps: Param.int({ min: 1, max: 50, default: 4 }) })
})

const model = (events?: Ref.Ref<ReadonlyArray<string>>) =>
  Model.make({
    name: "config-test",
    commands: Commands,
    config: Config,
    load: (config) =>
      events === undefined ? Effect.succeed(config) : Effect.acquireRelease(
        Effect.as(Ref.update(events, (all) => [...all, "load"]), config),
        () => Ref.update(events, (all) => [...all, "unload"])
      ),
    session: () => Effect.succeed({ handlers: { noop: () => Effect.void }, run: Effect.never })
  })

const load = (value: unknown, overrides: ReadonlyArray<{ path: Array<string>; raw: string }> = []) =>
  Effect.flatMap(Model.Model, (loaded) => Effect.succeed(loaded.config)).pipe(
    Effect.provide(model().pipe(Layer.provide(Model.ConfigInput.layer({ source: "model.yaml", value, overrides })))),
    Effect.flip,
    Effect.map((error) => error.message)
  )

describe("Model", () => {
  it.effect("decodes the config from defaults, the file and typed overrides", () =>
    Effect.gen(function*() {
      const config = yield* Effect.flatMap(Model.Model, (loaded) => Effect.succeed(loaded.config)).pipe(
        Effect.provide(
          model().pipe(Layer.provide(Model.ConfigInput.layer({
            source: "model.yaml",
            value: { sampler: { steps: 8 } },
            overrides: [{ path: ["fps"], raw: "60" }, { path: ["prompt"], raw: "42" }]
          })))
        )
      )
      expect(config).toEqual({ fps: 60, prompt: "42", sampler: { steps: 8 } })
    }))

  it.effect("a nested struct whose fields all have defaults may be left out, at any depth", () =>
    Effect.gen(function*() {
      const config = yield* Effect.flatMap(Model.Model, (loaded) => Effect.succeed(loaded.config)).pipe(
        Effect.provide(model().pipe(Layer.provide(Model.ConfigInput.empty)))
      )
      expect(config).toEqual({ fps: 30, prompt: "sea", sampler: { steps: 4 } })
      const Deep = Schema.Struct({
        a: Schema.Struct({ b: Schema.Struct({ c: Param.int({ default: 1 }) }), d: Param.boolean({ default: true }) }),
        required: Schema.Struct({ e: Param.int() })
      })
      const fill = (value: unknown) => Model.fillDefaultStructs(Deep.ast, value)
      expect(fill({ required: { e: 1 } })).toEqual({ a: { b: {} }, required: { e: 1 } })
      expect(Schema.decodeUnknownSync(Deep)(fill({ required: { e: 1 } }))).toEqual({
        a: { b: { c: 1 }, d: true },
        required: { e: 1 }
      })
      // A struct with a required field is still reported missing, with its path.
      expect(fill({})).toEqual({ a: { b: {} } })
    }))

  it.effect("a ConfigError names the source, the key path and what was expected", () =>
    Effect.gen(function*() {
      const outOfRange = yield* load({ fps: 500, sampler: {} })
      expect(outOfRange).toContain("invalid config (model.yaml)")
      expect(outOfRange).toMatch(/^ {2}fps: .*500/m)
      const nested = yield* load({ sampler: { steps: "many" } })
      expect(nested).toMatch(/^ {2}sampler\.steps: .*"many"/m)
      const extra = yield* load({ sampler: {}, fsp: 30 })
      expect(extra).toMatch(/^ {2}fsp: is unexpected/m)
      const override = yield* load({ sampler: {} }, [{ path: ["sampler", "steps"], raw: "0" }])
      expect(override).toMatch(/^ {2}sampler\.steps: .*0/m)
    }))

  it.effect("load-time scoped resources are released when the model layer is released", () =>
    Effect.gen(function*() {
      const events = yield* Ref.make<ReadonlyArray<string>>([])
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        model(events).pipe(Layer.provide(Model.ConfigInput.layer({ source: "t", value: { sampler: {} } }))),
        scope
      )
      expect(yield* Ref.get(events)).toEqual(["load"])
      yield* Scope.close(scope, Exit.void)
      expect(yield* Ref.get(events)).toEqual(["load", "unload"])
    }))

  it.effect("a failing load is a LoadError naming the model", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(
        Model.make({
          name: "broken",
          commands: Commands,
          load: () => Effect.fail(new Error("weights not found")),
          session: () => Effect.succeed({ handlers: { noop: () => Effect.void }, run: Effect.void })
        }).pipe(Layer.provide(Model.ConfigInput.empty))
      ).pipe(Effect.scoped, Effect.flip)
      expect(error).toBeInstanceOf(Model.LoadError)
      expect(error.message).toBe("model \"broken\" failed to load: weights not found")
    }))
})

describe("Model declarations", () => {
  it("travel as a field of what Model.make returns", () => {
    const made = model()
    expect(made.declared.name).toBe("config-test")
    expect(made.declared.capabilities.map((command) => command.name)).toEqual(["noop"])
    expect(Model.declaredOf(made)).toBe(made.declared)
  })

  it.effect("are read from a piped or provided model layer without decoding its config or loading it", () =>
    Effect.gen(function*() {
      const events = yield* Ref.make<ReadonlyArray<string>>([])
      const tapped = yield* Ref.make(0)
      const piped = Layer.provide(
        model(events).pipe(Layer.tap(() => Ref.update(tapped, (n) => n + 1))),
        Layer.succeed(Model.ConfigInput, { source: "bad.yaml", value: { fps: "not a number" } })
      )
      expect(Model.declaredOf(piped)).toBeUndefined()
      const declared = yield* Model.declarations(piped)
      expect(declared.name).toBe("config-test")
      expect(declared.capabilities.map((command) => command.name)).toEqual(["noop"])
      expect(yield* Ref.get(events)).toEqual([])
      // the same layer, built for real, still decodes its config (and fails on this one)
      const exit = yield* Effect.exit(Layer.build(piped).pipe(Effect.scoped))
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it.effect("a layer not made by Model.make is refused", () =>
    Effect.gen(function*() {
      const handMade = Layer.succeed(Model.Model, { ...model().declared, config: {}, startSession: Effect.never })
      const error = yield* Effect.flip(Model.declarations(handMade))
      expect(error).toBeInstanceOf(Model.NotAModel)
    }))
})
