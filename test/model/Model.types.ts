/**
 * Type-level tests of the model-author API, checked by `npm run typecheck` (tsc): every `@ts-expect-error` must be an
 * error and every `expectTypeOf` must hold, or the typecheck fails. Nothing here runs.
 */
import { Effect, type Option, Schema, type Stream } from "effect"
import { expectTypeOf } from "vitest"
import * as Command from "../../src/model/Command.js"
import * as Input from "../../src/model/Input.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"

const Commands = Command.group(
  Command.make("set_prompt", { description: "prompt", payload: { prompt: Param.string() } }),
  Command.make("set_speed", { description: "speed", payload: { speed: Param.number({ min: 0, max: 4, default: 1 }) } }),
  Command.make("reset", { description: "reset" })
)

// The commands first (`Model.make(Commands, { ... })`): every natural way of writing `session` types every handler's
// payload from them, including an arrow without parameters.
Model.make(Commands, {
  name: "no-parameter",
  session: () =>
    Effect.gen(function*() {
      yield* Effect.void
      return {
        handlers: {
          set_prompt: (payload) => {
            expectTypeOf(payload).toEqualTypeOf<{ readonly prompt: string }>()
            return Effect.log(payload.prompt.toUpperCase())
          },
          set_speed: ({ speed }) => {
            expectTypeOf(speed).toEqualTypeOf<number>()
            return Effect.void
          },
          reset: () => Effect.void
        },
        run: Effect.never
      }
    })
})

Model.make(Commands, {
  name: "no-parameter-succeed",
  session: () =>
    Effect.succeed({
      handlers: {
        set_prompt: ({ prompt }) => Effect.log(prompt.toUpperCase()),
        set_speed: ({ speed }) => Effect.log(speed.toFixed(1)),
        reset: () => Effect.void
      },
      run: Effect.never
    })
})

Model.make(Commands, {
  name: "unused-parameter",
  session: (_) =>
    Effect.succeed({
      handlers: {
        set_prompt: (payload) => {
          expectTypeOf(payload).toEqualTypeOf<{ readonly prompt: string }>()
          return Effect.void
        },
        set_speed: () => Effect.void,
        reset: () => Effect.void
      },
      run: Effect.never
    })
})

Model.make(Commands, {
  name: "config-and-load",
  config: Schema.Struct({ fps: Param.int({ default: 30 }) }),
  load: (config) => Effect.succeed({ weights: config.fps * 2 }),
  session: ({ config, loaded }) =>
    Effect.gen(function*() {
      expectTypeOf(config.fps).toEqualTypeOf<number>()
      expectTypeOf(loaded.weights).toEqualTypeOf<number>()
      return {
        handlers: {
          set_prompt: ({ prompt }) => {
            expectTypeOf(prompt).toEqualTypeOf<string>()
            return Effect.void
          },
          set_speed: () => Effect.void,
          reset: () => Effect.void
        },
        run: Effect.never
      }
    })
})

Model.make(Commands, {
  name: "wrong-payload-no-parameter",
  session: () =>
    // @ts-expect-error: prompt is a string, not a number
    Effect.succeed({
      handlers: {
        set_prompt: ({ prompt }: { readonly prompt: number }) => Effect.log(prompt),
        set_speed: () => Effect.void,
        reset: () => Effect.void
      },
      run: Effect.never
    })
})

Model.make(Commands, {
  name: "missing-handler-no-parameter",
  session: () =>
    // @ts-expect-error: the reset handler is missing
    Effect.succeed({
      handlers: { set_prompt: () => Effect.void, set_speed: () => Effect.void },
      run: Effect.never
    })
})

Model.make(Commands, {
  name: "unused-payload-typo",
  session: () =>
    Effect.succeed({
      handlers: {
        // @ts-expect-error: the payload has no `promt`
        set_prompt: ({ promt }) => Effect.log(promt),
        set_speed: () => Effect.void,
        reset: () => Effect.void
      },
      run: Effect.never
    })
})

// The declarations travel as a field of what `Model.make` returns.
expectTypeOf(
  Model.make(Commands, { name: "declared", session: () => Effect.never }).declared
).toEqualTypeOf<Model.Declared>()

// The one-argument form (commands inside) still compiles; its session must take its parameter (`(_) =>`), since
// TypeScript types a parameterless arrow there before it has read `commands`.
Model.make({
  name: "unused-parameter",
  commands: Commands,
  session: (_) =>
    Effect.succeed({
      handlers: {
        set_prompt: (payload) => {
          expectTypeOf(payload).toEqualTypeOf<{ readonly prompt: string }>()
          return Effect.void
        },
        set_speed: ({ speed }) => {
          expectTypeOf(speed).toEqualTypeOf<number>()
          return Effect.void
        },
        reset: () => Effect.void
      },
      run: Effect.never
    })
})

// The same with the config parameter, and the config typed from its schema.
Model.make({
  name: "with-config",
  commands: Commands,
  config: Schema.Struct({ fps: Param.int({ default: 30 }) }),
  session: ({ config }) => {
    expectTypeOf(config.fps).toEqualTypeOf<number>()
    return Effect.succeed({
      handlers: {
        set_prompt: ({ prompt }) => Effect.log(prompt),
        set_speed: ({ speed }) => Effect.log(speed),
        reset: () => Effect.void
      },
      run: Effect.never
    })
  }
})

Model.make({
  name: "missing-handler",
  commands: Commands,
  session: (_) =>
    // @ts-expect-error: the reset handler is missing
    Effect.succeed({
      handlers: {
        set_prompt: () => Effect.void,
        set_speed: () => Effect.void
      },
      run: Effect.never
    })
})

Model.make({
  name: "wrong-payload",
  commands: Commands,
  session: (_) =>
    // @ts-expect-error: prompt is a string, not a number
    Effect.succeed({
      handlers: {
        set_prompt: ({ prompt }: { readonly prompt: number }) => Effect.log(prompt),
        set_speed: () => Effect.void,
        reset: () => Effect.void
      },
      run: Effect.never
    })
})

// Input tracks: `ctx.input` takes only the declared names, and its frames are typed.
Model.make({
  name: "inputs",
  commands: Commands,
  inputs: { webcam: Input.video({ description: "camera" }), sketch: Input.video({ description: "pad", maxWidth: 64 }) },
  session: ({ ctx }) =>
    Effect.gen(function*() {
      const webcam = ctx.input("webcam")
      expectTypeOf(yield* webcam.latest).toEqualTypeOf<Option.Option<Input.InputFrame>>()
      expectTypeOf(webcam.frames).toEqualTypeOf<Stream.Stream<Input.InputFrame>>()
      ctx.input("sketch")
      // @ts-expect-error: not a declared input track
      ctx.input("webcma")
      return {
        handlers: {
          set_prompt: ({ prompt }) => {
            expectTypeOf(prompt).toEqualTypeOf<string>()
            return Effect.void
          },
          set_speed: () => Effect.void,
          reset: () => Effect.void
        },
        run: Effect.never
      }
    })
})

// Without inputs, there is no track to ask for.
Model.make({
  name: "no-inputs",
  commands: Commands,
  session: ({ ctx }) =>
    Effect.sync(() => {
      // @ts-expect-error: the model declares no input tracks
      ctx.input("webcam")
      return {
        handlers: { set_prompt: () => Effect.void, set_speed: () => Effect.void, reset: () => Effect.void },
        run: Effect.never
      }
    })
})
