/**
 * A model's session state, declared once (Reactor's `InputState`): a `Schema.Struct` whose every field becomes a
 * `set_<field>` command, its bounds and description in capabilities (so the SDK's auto-UI renders a slider, a select,
 * a checkbox), and whose value is sent to every viewer of the session whenever it changes (a runtime `state` message).
 *
 * ```ts
 * const Look = Schema.Struct({
 *   prompt: Param.string({ description: "What to draw", default: "a forest" }),
 *   speed: Param.number({ min: 0, max: 10, default: 1, description: "How fast" })
 * })
 * Model.make(Commands, { name: "world", state: Look, session: ({ state }) => ... yield* state.get ... })
 * ```
 */
import type * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import { Effect, JSONSchema, Option, Schema, type Stream, SubscriptionRef } from "effect"
import * as Command from "./Command.js"

/** The key that marks a runtime message on its way out through a session's messages (`{[runtimeKey]: type, data}`). */
export const runtimeKey = "__reactorRuntime"

/** A runtime-scope message a session sends its viewers (the connection sends it as `{scope: "runtime"}`). */
export const runtimeMessage = (type: string, data: unknown) => ({ [runtimeKey]: type, data })

/** The setter command of each field of a state struct: `set_<field>` with that one field as its payload. */
export type Setters<F extends Schema.Struct.Fields> = {
  readonly [K in keyof F & string]: Rpc.Rpc<`set_${K}`, Schema.Struct<{ readonly [P in K]: RequiredField<F[K]> }>>
}[keyof F & string]

/** A field without its default (a setter's payload requires its value). */
export type RequiredField<F> = F extends Schema.Schema.Any ? F
  : F extends { readonly from: infer S extends Schema.Schema.All } ? S
  : F

/** A state declaration's setters as a command group (to merge into a typed client's group). */
export const setters = <F extends Schema.Struct.Fields>(state: Schema.Struct<F>): RpcGroup.RpcGroup<Setters<F>> =>
  RpcGroup.make(
    ...Object.entries(state.fields).map(([name, field]) =>
      Command.make(`set_${name}`, {
        description: Option.getOrElse(descriptionOf(name, field), () => `Sets ${name}`),
        // the value is what a setter is for: required, even for a field whose default starts the state
        payload: { [name]: requiredOf(field) }
      })
    )
  ) as unknown as RpcGroup.RpcGroup<Setters<F>>

/** A field without its default: the schema a `Param` helper wrapped in `optionalWith`. */
const requiredOf = (field: Schema.Struct.Field): Schema.Struct.Field =>
  Schema.isSchema(field) ? field : (field as { readonly from?: Schema.Schema.Any }).from ?? field

const descriptionOf = (name: string, field: Schema.Struct.Field): Option.Option<string> => {
  const root = JSONSchema.make(Schema.Struct({ [name]: field })) as {
    readonly properties?: Record<string, { readonly description?: unknown; readonly $ref?: string }>
    readonly $defs?: Record<string, { readonly description?: unknown }>
  }
  const property = root.properties?.[name]
  const target = property?.$ref !== undefined ? root.$defs?.[property.$ref.replace("#/$defs/", "")] : property
  const description = property?.description ?? target?.description
  return typeof description === "string" ? Option.some(description) : Option.none()
}

/** A session's state, as its code reads and changes it. Every change is sent to the session's viewers. */
export interface Handle<A> {
  /** The current value. */
  readonly get: Effect.Effect<A>
  /** Replaces the value (and sends it). */
  readonly set: (value: A) => Effect.Effect<void>
  /** Changes the value (and sends it). */
  readonly update: (f: (current: A) => A) => Effect.Effect<void>
  /** The current value, then every change. */
  readonly changes: Stream.Stream<A>
}

/** A state declaration whose fields cannot all start from a default: the message names them. */
export class StateError extends Error {
  override readonly name = "StateError"
}

/** The state's first value: every field's default. Throws a `StateError` naming fields without one. */
export const initial = <A, I>(schema: Schema.Schema<A, I>): A => {
  const decoded = Schema.decodeUnknownEither(schema)({})
  if (decoded._tag === "Right") return decoded.right
  const fields = (schema as unknown as { readonly fields?: Schema.Struct.Fields }).fields ?? {}
  const missing = Object.keys(fields).filter((name) =>
    Schema.decodeUnknownEither(Schema.Struct({ [name]: fields[name]! }) as unknown as Schema.Schema<unknown>)({})
      ._tag === "Left"
  )
  throw new StateError(
    `the state's fields ${missing.map((name) => `"${name}"`).join(", ")} have no default: ` +
      `a session starts from the defaults (give each one, e.g. Param.number({ default: 1 }))`
  )
}

/**
 * Makes a session's state handle: its value in a `SubscriptionRef`, each change sent through `send` encoded (JSON)
 * as a runtime `state` message.
 */
export const make = <A, I>(
  schema: Schema.Schema<A, I>,
  send: (message: unknown) => Effect.Effect<void>
): Effect.Effect<Handle<A> & { readonly broadcast: Effect.Effect<void> }> =>
  Effect.gen(function*() {
    const ref = yield* SubscriptionRef.make(initial(schema))
    const encode = Schema.encode(schema)
    const broadcast = Effect.flatMap(SubscriptionRef.get(ref), (value) =>
      encode(value).pipe(
        Effect.flatMap((encoded) => send(runtimeMessage("state", encoded))),
        Effect.catchAll((error) => Effect.logWarning("the session's state could not be encoded", error))
      ))
    return {
      get: SubscriptionRef.get(ref),
      set: (value) => Effect.zipRight(SubscriptionRef.set(ref, value), broadcast),
      update: (f) => Effect.zipRight(SubscriptionRef.update(ref, f), broadcast),
      changes: ref.changes,
      broadcast
    }
  })
