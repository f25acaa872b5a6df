/**
 * Models as Effect layers. `Model.make` turns a definition into a `Layer` that validates the config and loads the
 * model once (weights, pipelines: scoped resources released at shutdown); the loaded model then serves sessions,
 * each with its own state, handlers and generation loop.
 */
import type * as Rpc from "@effect/rpc/Rpc"
import type * as RpcGroup from "@effect/rpc/RpcGroup"
import { Context, Data, Effect, JSONSchema, Layer, Option, ParseResult, Schema, SchemaAST, type Scope } from "effect"
import * as Capabilities from "./Capabilities.js"
import type * as Command from "./Command.js"
import * as Input from "./Input.js"
import * as Output from "./Output.js"
import * as Overrides from "./Overrides.js"
import { type Service as SessionContextService, SessionContext, type Viewer } from "./SessionContext.js"
import * as State from "./State.js"

/** What one session of a model is: its command handlers and its generation loop. */
export interface SessionBehaviour<R extends Rpc.Any> {
  /** One handler per command, applied in arrival order by the session's mailbox. */
  readonly handlers: Command.Handlers<R, SessionContext>
  /** The frame loop. It runs until it returns (the session ends), fails, or is interrupted by a stop. */
  readonly run: Effect.Effect<unknown, unknown, SessionContext>
  /** Lifecycle hooks (Reactor's `@session_started`, `@session_ended`, `@connected`, `@disconnected`). */
  readonly hooks?: Hooks
}

/**
 * What a session does when it starts and ends, and when a viewer comes and goes. A hook that fails is logged; the
 * session goes on. When the session ends, `sessionEnded` runs once (after the loop stopped, before the session's
 * resources are released) and `disconnected` does not run for the viewers still there.
 */
export interface Hooks {
  /** Once, after the session's set-up and before its loop starts (no viewer has connected yet). */
  readonly sessionStarted?: Effect.Effect<unknown, unknown, SessionContext>
  /** Once, when the session ends, whatever ended it. */
  readonly sessionEnded?: Effect.Effect<unknown, unknown, SessionContext>
  /** Each time a viewer connects (a controller or a watcher; a reconnect too). */
  readonly connected?: (viewer: Viewer) => Effect.Effect<unknown, unknown, SessionContext>
  /** Each time a viewer leaves while the session goes on. */
  readonly disconnected?: (viewer: Viewer) => Effect.Effect<unknown, unknown, SessionContext>
}

/**
 * A model definition, as a model author writes it after its commands: `Model.make(Commands, { name, session })`.
 * The commands come first so that every handler's payload is typed from them however `session` is written
 * (`() =>`, `(_) =>`, `({ config }) =>`).
 */
export interface Definition<
  R extends Rpc.Any,
  C,
  CI,
  L,
  I extends Input.Inputs = {},
  S extends Schema.Struct.Fields = {},
  O extends Output.Outputs = { readonly main_video: Output.Video }
> {
  /** The model's name, reported in capabilities and session responses. */
  readonly name: string
  readonly version?: string
  readonly description?: string
  /**
   * The input tracks viewers may send (e.g. `{ webcam: Input.video({ description: "Your camera" }) }`), listed in
   * capabilities as `sendonly` tracks and read in a session with `ctx.input(name)`.
   */
  readonly inputs?: I
  /**
   * The output tracks (e.g. `{ main_video: Output.video(), main_audio: Output.audio() }`), listed in capabilities as
   * `recvonly` tracks in this order; the first is a video track, where `ctx.emit` goes. Default: `main_video` alone.
   */
  readonly outputs?: O
  /** The config schema; defaults live here, so no config file is needed to run. */
  readonly config?: Schema.Schema<C, CI>
  /** The frame size used for a black frame emitted before any real frame. Defaults to 640x360. */
  readonly frameSize?: { readonly width: number; readonly height: number }
  /** Loads the model once per process (weights, pipelines). Scoped to the process: released at shutdown. */
  readonly load?: (config: C) => Effect.Effect<L, unknown, Scope.Scope>
  /**
   * The session's state (Reactor's `InputState`): each field becomes a `set_<field>` command with its bounds (a
   * command of that name in `commands` wins), and every change is sent to the session's viewers as a runtime `state`
   * message. Every field needs a default: a session starts from them. The session reads it as `state`.
   */
  readonly state?: Schema.Struct<S>
  /** Starts one session: builds its state and returns its handlers and loop. Scoped to the session. */
  readonly session: (input: {
    readonly config: C
    readonly loaded: L
    /** The session's context, its `input` typed by the model's `inputs` (the same service `SessionContext` gives). */
    readonly ctx: SessionContextService<keyof I & string, Output.AudioNames<O>, Output.VideoNames<O>>
    /** The session's declared state (an empty struct's when the model declares none). */
    readonly state: State.Handle<Schema.Struct.Type<S>>
  }) => Effect.Effect<
    SessionBehaviour<R>,
    unknown,
    SessionContext | Scope.Scope
  >
}

/**
 * The one-argument form, `Model.make({ name, commands, session })`. Its `session` must take its parameter
 * (`(_) =>` when unused): TypeScript types an arrow without parameters before it has read `commands`, and every
 * handler's payload then comes out as `never`. `Model.make(Commands, { ... })` has no such rule.
 */
export interface DefinitionWithCommands<
  R extends Rpc.Any,
  C,
  CI,
  L,
  I extends Input.Inputs = {},
  S extends Schema.Struct.Fields = {},
  O extends Output.Outputs = { readonly main_video: Output.Video }
> extends Definition<R, C, CI, L, I, S, O> {
  /** The commands viewers can send, declared with `@effect/rpc`. */
  readonly commands: RpcGroup.RpcGroup<R>
}

/**
 * What a model declares, known without loading it: its name, its commands and their UI schema, its frame size. This is
 * all the server side (HTTP, transports, capabilities) needs; a model hosted in a worker is loaded only there.
 */
export interface Declared {
  readonly name: string
  readonly version: string | undefined
  readonly description: string | undefined
  readonly commands: RpcGroup.RpcGroup<any>
  readonly capabilities: ReadonlyArray<Capabilities.CommandCapability>
  /** The input tracks, in declaration order. */
  readonly inputs: Input.Inputs
  /** The output tracks, in declaration order (absent: `main_video` alone, `Output.defaults`). */
  readonly outputs?: Output.Outputs
  readonly frameSize: { readonly width: number; readonly height: number }
}

/** A loaded model as the runtime sees it: its types erased, its capabilities derived. */
export interface Loaded extends Declared {
  readonly config: unknown
  readonly startSession: Effect.Effect<SessionBehaviour<any>, unknown, SessionContext | Scope.Scope>
}

/**
 * What `Model.make` returns: the model's layer, its declarations carried as a field so the server can read them
 * without building it (a model hosted in a worker is loaded only there).
 */
export interface ModelLayer extends Layer.Layer<Model, ConfigError | LoadError, ConfigInput> {
  readonly declared: Declared
}

/** The declarations a layer carries (`Model.make`'s own layer), or undefined for any other layer. */
export const declaredOf = (layer: Layer.Layer<Model, unknown, ConfigInput>): Declared | undefined =>
  "declared" in layer ? (layer as ModelLayer).declared : undefined

/**
 * Present while a layer is built only to read its declarations: a layer made by `Model.make` then neither decodes
 * its config nor runs `load`, and its sessions cannot start.
 */
class DeclareOnly extends Context.Tag("effect-reactor/Model/DeclareOnly")<DeclareOnly, true>() {}

/** The layer is not a model made by `Model.make` (nor one piped or provided from it). */
export class NotAModel extends Data.TaggedError("NotAModel")<{ readonly message: string }> {}

const declaredOnly = new WeakSet<Loaded>()

/**
 * The declarations of any model layer without loading the model: read from the field of `Model.make`'s layer, or,
 * for a layer made from it (`Layer.provide`, `Layer.tap`, ...), by building that layer in a mode where the model's
 * own layer only declares itself (the layers provided to it are built, and released at once).
 */
export const declarations = (
  layer: Layer.Layer<Model, unknown, ConfigInput>
): Effect.Effect<Declared, unknown> => {
  const declared = declaredOf(layer)
  if (declared !== undefined) return Effect.succeed(declared)
  return Layer.build(layer).pipe(
    Effect.flatMap((context) => {
      const model = Context.get(context, Model)
      return declaredOnly.has(model)
        ? Effect.succeed(model as Declared)
        : Effect.fail(new NotAModel({ message: "its model is not a layer made by Model.make" }))
    }),
    Effect.provideService(DeclareOnly, true),
    Effect.provide(ConfigInput.empty),
    Effect.scoped
  )
}

/** The loaded model service, provided by the layer `Model.make` returns. */
export class Model extends Context.Tag("effect-reactor/Model")<Model, Loaded>() {}

/** Where the raw config comes from: YAML merged with CLI overrides. `source` names it in errors. */
export interface ConfigInputService {
  readonly source: string
  readonly value: unknown
  /** `--model.key=value` overrides, typed by the config schema when applied. */
  readonly overrides?: ReadonlyArray<Overrides.Override>
}

/** The raw, undecoded config handed to a model layer. */
export class ConfigInput extends Context.Tag("effect-reactor/ConfigInput")<ConfigInput, ConfigInputService>() {
  /** No config file and no overrides: every value comes from the schema's defaults. */
  static readonly empty = Layer.succeed(ConfigInput, { source: "defaults", value: {} })
  static readonly layer = (input: ConfigInputService) => Layer.succeed(ConfigInput, input)
}

/** A config that does not match the model's schema; the message names the source, the key path and the expectation. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly source: string
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
}> {
  override get message() {
    return `invalid config (${this.source}):\n` +
      this.issues.map((issue) => `  ${issue.path === "" ? "(root)" : issue.path}: ${issue.message}`).join("\n")
  }
}

/** The model's `load` failed. */
export class LoadError extends Data.TaggedError("LoadError")<{ readonly model: string; readonly cause: unknown }> {
  override get message() {
    return `model "${this.model}" failed to load: ${
      this.cause instanceof Error ? this.cause.message : String(this.cause)
    }`
  }
}

/** Formats parse issues as `key.path: message` pairs. */
export const formatIssues = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message
  }))

const unwrap = (ast: SchemaAST.AST): SchemaAST.AST =>
  ast._tag === "Refinement" ? unwrap(ast.from) : ast._tag === "Transformation" ? unwrap(ast.from) : ast

/** Whether a struct can be left out entirely: every field of it has a default (or can be left out itself). */
const defaultable = (ast: SchemaAST.AST): boolean => {
  const node = unwrap(ast)
  return node._tag === "TypeLiteral" && node.indexSignatures.length === 0 &&
    node.propertySignatures.every((field) => field.isOptional || defaultable(field.type))
}

/**
 * Fills in `{}` for absent nested structs whose fields all have defaults, so that `resolution: { width, height }`
 * with defaults needs no `resolution:` key in the file (Schema itself reports the whole struct as missing).
 */
export const fillDefaultStructs = (ast: SchemaAST.AST, value: unknown): unknown => {
  const node = unwrap(ast)
  if (node._tag !== "TypeLiteral" || typeof value !== "object" || value === null || Array.isArray(value)) return value
  const out: Record<PropertyKey, unknown> = { ...value }
  for (const field of node.propertySignatures) {
    const current = out[field.name]
    if (current === undefined && !(field.name in out) && defaultable(field.type)) out[field.name] = {}
    if (out[field.name] !== undefined) out[field.name] = fillDefaultStructs(field.type, out[field.name])
  }
  return out
}

/**
 * Turns a model definition into a layer: `Model.make(Commands, { name, session })`, or the one-argument form with
 * `commands` inside. The command schema is checked here, at definition time: a parameter the UI schema cannot
 * express throws a `CapabilityError` naming the command and the parameter.
 */
export function make<
  R extends Rpc.Any,
  C = {},
  CI = {},
  L = void,
  I extends Input.Inputs = {},
  S extends Schema.Struct.Fields = {},
  O extends Output.Outputs = { readonly main_video: Output.Video }
>(
  commands: RpcGroup.RpcGroup<R>,
  definition: Definition<R, C, CI, L, I, S, O>
): ModelLayer
export function make<
  R extends Rpc.Any,
  C = {},
  CI = {},
  L = void,
  I extends Input.Inputs = {},
  S extends Schema.Struct.Fields = {},
  O extends Output.Outputs = { readonly main_video: Output.Video }
>(
  definition: DefinitionWithCommands<R, C, CI, L, I, S, O>
): ModelLayer
export function make(
  first: RpcGroup.RpcGroup<Rpc.Any> | DefinitionWithCommands<Rpc.Any, unknown, unknown, unknown, any, any, any>,
  second?: Definition<Rpc.Any, unknown, unknown, unknown, any, any, any>
): ModelLayer {
  const given = second === undefined
    ? first as DefinitionWithCommands<Rpc.Any, unknown, unknown, unknown, any, any, any>
    : { ...second, commands: first as RpcGroup.RpcGroup<Rpc.Any> }
  const stateSchema = (given.state ?? Schema.Struct({})) as unknown as Schema.Struct<
    Record<string, typeof Schema.Unknown>
  >
  // the state's setters, but a command of the same name the model declares itself wins
  State.initial(stateSchema)
  const setters = [...State.setters(stateSchema).requests.values()].filter((rpc) =>
    !given.commands.requests.has(rpc._tag)
  )
  const definition = setters.length === 0 ? given : { ...given, commands: given.commands.add(...setters) }
  const capabilities = Capabilities.ofGroup(definition.commands)
  const inputs = Input.checkDeclared(definition.name, definition.inputs ?? {})
  const outputs = definition.outputs === undefined
    ? undefined
    : Output.checkDeclared(definition.name, definition.outputs, inputs)
  const configSchema = (definition.config ?? Schema.Struct({})) as Schema.Schema<unknown, unknown>
  const declared: Declared = {
    name: definition.name,
    version: definition.version,
    description: definition.description,
    commands: definition.commands,
    capabilities,
    inputs,
    ...(outputs !== undefined ? { outputs } : {}),
    frameSize: definition.frameSize ?? { width: 640, height: 360 }
  }
  const layer = Layer.scoped(
    Model,
    Effect.gen(function*() {
      if (Option.isSome(yield* Effect.serviceOption(DeclareOnly))) {
        const only: Loaded = {
          ...declared,
          config: undefined,
          startSession: Effect.dieMessage(`model "${declared.name}" was built for its declarations only`)
        }
        declaredOnly.add(only)
        return only
      }
      const input = yield* ConfigInput
      const merged = fillDefaultStructs(
        SchemaAST.encodedAST(configSchema.ast),
        Overrides.apply(input.value ?? {}, input.overrides ?? [], JSONSchema.make(configSchema))
      )
      const config = yield* Schema.decodeUnknown(configSchema, { errors: "all", onExcessProperty: "error" })(merged)
        .pipe(Effect.mapError((error) => new ConfigError({ source: input.source, issues: formatIssues(error) })))
      const loaded = definition.load === undefined
        ? undefined
        : yield* definition.load(config).pipe(
          Effect.mapError((cause) => new LoadError({ model: definition.name, cause }))
        )
      yield* Effect.annotateCurrentSpan("model", definition.name)
      return {
        ...declared,
        config,
        startSession: Effect.gen(function*() {
          const ctx = yield* SessionContext
          const state = yield* State.make(stateSchema, ctx.send)
          const behaviour = yield* definition.session({ config, loaded, ctx, state })
          if (given.state === undefined) return behaviour
          const handlers: Record<string, (payload: any) => Effect.Effect<unknown, unknown, any>> = {
            ...(behaviour.handlers as Record<string, (payload: any) => Effect.Effect<unknown, unknown, any>>)
          }
          for (const rpc of setters) {
            const field = rpc._tag.slice("set_".length)
            handlers[rpc._tag] = (payload: Record<string, unknown>) =>
              state.update((current) => ({ ...current, [field]: payload[field] }))
          }
          const connected = behaviour.hooks?.connected
          return {
            ...behaviour,
            handlers,
            // a viewer that connects gets the state at once
            hooks: {
              ...behaviour.hooks,
              connected: (viewer: Viewer) =>
                connected === undefined ? state.broadcast : Effect.zipRight(state.broadcast, connected(viewer))
            }
          } as SessionBehaviour<any>
        }) as Loaded["startSession"]
      }
    })
  )
  return Object.assign(layer, { declared })
}

/** The config schema of a definition, for tools that print or validate it. */
export type ConfigOf<D> = D extends Definition<any, infer C, any, any, any, any> ? C : never
