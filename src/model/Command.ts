/**
 * Commands: what a viewer can send a model. A command is an `@effect/rpc` definition whose tag is the wire name
 * (`set_prompt`) and whose payload is a Schema struct. That one declaration validates, types the handler, types the
 * client and yields the UI schema.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import { Context, Effect, Schema } from "effect"

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
 * Declares a command. Equivalent to `Rpc.make(name, { payload }).annotate(Command.Description, description)`,
 * with an empty payload when the command takes no parameters.
 */
export const make = <const Name extends string, const Fields extends Schema.Struct.Fields = {}>(
  name: Name,
  options: {
    readonly description: string
    readonly payload?: Fields
    readonly keys?: KeyBindings
  }
): Rpc.Rpc<Name, Schema.Struct<Fields>> => {
  const rpc = Rpc.make(name, { payload: Schema.Struct((options.payload ?? {}) as Fields) })
    .annotate(Description, options.description)
  return options.keys !== undefined ? rpc.annotate(Keys, options.keys) : rpc
}

/** Groups commands; the same as `RpcGroup.make`. */
export const group = RpcGroup.make

/** The commands of a group, as a union of their Rpc types. */
export type CommandsOf<G> = RpcGroup.Rpcs<G>

/**
 * The handlers a model provides for a command group: one per command, typed from its payload. A missing handler or a
 * wrong payload type is a compile error. Handlers may use the session context.
 */
export type Handlers<R extends Rpc.Any, Env = never> = {
  readonly [C in R as C["_tag"]]: (payload: Rpc.Payload<C>) => Effect.Effect<unknown, unknown, Env>
}
