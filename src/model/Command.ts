/**
 * Commands: what a viewer can send a model. A command is an `@effect/rpc` definition whose tag is the wire name
 * (`set_prompt`) and whose payload is a Schema struct. That one declaration validates, types the handler, types the
 * client and yields the UI schema.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import { Context, Data, Effect, Schema } from "effect"

/** The human description of a command, shown beside its controls. */
export class Description extends Context.Tag("effect-reactor/Command/Description")<Description, string>() {}

/**
 * Keyboard bindings for a command: which payload each key sends while pressed, and what to send when all of them
 * are released. Keys are `KeyboardEvent.key` values, lower-cased for letters (`"w"`, `"ArrowUp"`, `" "`).
 */
export interface KeyBindings {
  readonly press: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly release?: Readonly<Record<string, unknown>>
}

/** The keyboard bindings annotation read by the browser page. */
export class Keys extends Context.Tag("effect-reactor/Command/Keys")<Keys, KeyBindings>() {}

/**
 * Declares a command. Equivalent to `Rpc.make(name, { payload, success }).annotate(Command.Description, description)`,
 * with an empty payload when the command takes no parameters. With `success`, the handler returns a value of that
 * schema, which goes back to the command's sender only (a typed reply, correlated by the command's id).
 */
export const make = <
  const Name extends string,
  const Fields extends Schema.Struct.Fields = {},
  Success extends Schema.Schema.Any = typeof Schema.Void
>(
  name: Name,
  options: {
    readonly description: string
    readonly payload?: Fields
    readonly keys?: KeyBindings
    /** The schema of the handler's reply (encoded to JSON for the wire). */
    readonly success?: Success
  }
): Rpc.Rpc<Name, Schema.Struct<Fields>, Success> => {
  const rpc = Rpc.make(name, {
    payload: Schema.Struct((options.payload ?? {}) as Fields),
    ...(options.success !== undefined ? { success: options.success } : {})
  }).annotate(Description, options.description) as unknown as Rpc.Rpc<Name, Schema.Struct<Fields>, Success>
  return options.keys !== undefined ? rpc.annotate(Keys, options.keys) : rpc
}

/**
 * A handler's refusal with a code of the model's own (Reactor's `CommandError`): the sender gets the `code` and the
 * `message` unchanged (`{code, message, command}`), the session goes on. Raise it with `Command.refuse`.
 */
export class Refusal extends Data.TaggedError("CommandRefusal")<{ readonly code: string; readonly message: string }> {}

/** Refuses the command being handled: `return yield* Command.refuse("quota_exceeded", "No credits remain")`. */
export const refuse = (code: string, message: string): Effect.Effect<never, Refusal> =>
  Effect.fail(new Refusal({ code, message }))

/** What a handler returns: the success schema's type for a command declared with one, else anything. */
export type Reply<C extends Rpc.Any> = C extends Rpc.Rpc<any, any, infer S, any, any>
  ? [Schema.Schema.Type<S>] extends [void] ? unknown : Schema.Schema.Type<S>
  : unknown

/** Groups commands; the same as `RpcGroup.make`. */
export const group = RpcGroup.make

/** The commands of a group, as a union of their Rpc types. */
export type CommandsOf<G> = RpcGroup.Rpcs<G>

/**
 * The handlers a model provides for a command group: one per command, typed from its payload. A missing handler or a
 * wrong payload type is a compile error. Handlers may use the session context.
 */
export type Handlers<R extends Rpc.Any, Env = never> = {
  readonly [C in R as C["_tag"]]: (payload: Rpc.Payload<C>) => Effect.Effect<Reply<C>, unknown, Env>
}
