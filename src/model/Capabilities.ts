/**
 * Capabilities: the command schema derived from the command declarations, in Reactor's shape (what its SDK's auto-UI
 * reads) and as full JSON Schema for generic tools. A parameter a UI control cannot express is rejected when the model
 * is defined, naming the command and the parameter.
 */
import type * as Rpc from "@effect/rpc/Rpc"
import type * as RpcGroup from "@effect/rpc/RpcGroup"
import { Context, JSONSchema, Option, Schema } from "effect"
import * as Command from "./Command.js"
import * as Upload from "./Upload.js"

/** One parameter in Reactor's schema shape. */
export interface ParamSchema {
  /** `object` only for a file parameter (`format: "reactor-upload-reference"`, see `Param.file`). */
  readonly type: "number" | "integer" | "string" | "boolean" | "object"
  /** `reactor-upload-reference` for a file parameter, as Reactor's schema has it. */
  readonly format?: string
  /** A file parameter's accepted media types. */
  readonly accept?: ReadonlyArray<string>
  /** A file parameter's largest size in bytes. */
  readonly maxBytes?: number
  readonly description?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly enum?: ReadonlyArray<string | number>
  readonly required?: boolean
  readonly default?: unknown
}

/** One command as Reactor's clients expect it, plus our extensions (`jsonSchema`, `keys`). */
export interface CommandCapability {
  readonly name: string
  readonly description: string
  readonly schema: Readonly<Record<string, ParamSchema>>
  readonly jsonSchema: JSONSchema.JsonSchema7Root
  readonly keys?: Command.KeyBindings
}

/** A command declaration the UI schema cannot express. */
export class CapabilityError extends Error {
  override readonly name = "CapabilityError"
}

type Json = Record<string, any>

const resolve = (node: Json, defs: Json): Json => {
  let out: Json = { ...node }
  if (typeof out.$ref === "string") {
    const target = defs[out.$ref.replace("#/$defs/", "")] ?? {}
    const { $ref: _ref, ...rest } = out
    out = { ...resolve(target, defs), ...rest }
  }
  if (Array.isArray(out.allOf)) {
    const { allOf, ...rest } = out
    out = allOf.reduce((acc: Json, part: Json) => ({ ...resolve(part, defs), ...acc }), rest)
  }
  return out
}

const isGeneratedTitle = (title: unknown) => typeof title === "string" && /\(|^int$|^[A-Z]\w*$/.test(title)

const toParam = (
  command: string,
  name: string,
  raw: Json,
  required: boolean,
  fallbackDefault: unknown
): ParamSchema => {
  const where = `command "${command}", parameter "${name}"`
  const type = raw.type
  const file = Upload.optionsOf(raw)
  if (file !== undefined) {
    return {
      type: "object",
      format: Upload.format,
      ...(typeof raw.description === "string" ? { description: raw.description } : {}),
      ...(file.accept !== undefined ? { accept: file.accept } : {}),
      ...(file.maxBytes !== undefined ? { maxBytes: file.maxBytes } : {}),
      required
    }
  }
  if (Array.isArray(raw.anyOf) || Array.isArray(raw.oneOf)) {
    throw new CapabilityError(
      `${where}: a union of different types cannot be shown as one control; use Param.literal for a choice of strings`
    )
  }
  if (type === "object" || type === "array" || raw.properties !== undefined || raw.items !== undefined) {
    throw new CapabilityError(
      `${where}: nested ${
        type ?? "object"
      } parameters cannot be shown as a control; use flat string, number, integer, boolean or literal parameters`
    )
  }
  if (type !== "string" && type !== "number" && type !== "integer" && type !== "boolean") {
    throw new CapabilityError(`${where}: type ${JSON.stringify(type ?? raw)} cannot be shown as a control`)
  }
  if (Array.isArray(raw.enum) && type !== "string") {
    throw new CapabilityError(`${where}: only string enumerations can be shown as a select`)
  }
  const def = raw.default !== undefined ? raw.default : fallbackDefault
  return {
    type,
    ...(typeof raw.description === "string" ? { description: raw.description } : {}),
    ...(typeof raw.minimum === "number" ? { minimum: raw.minimum } : {}),
    ...(typeof raw.maximum === "number" ? { maximum: raw.maximum } : {}),
    ...(typeof raw.exclusiveMinimum === "number" ? { minimum: raw.exclusiveMinimum } : {}),
    ...(typeof raw.exclusiveMaximum === "number" ? { maximum: raw.exclusiveMaximum } : {}),
    ...(Array.isArray(raw.enum) ? { enum: raw.enum } : {}),
    required,
    ...(def !== undefined ? { default: def } : {})
  }
}

/** The default a field decodes to when it is absent, found by decoding an empty object. */
const defaultOf = (field: Schema.Struct.Field | undefined): unknown => {
  if (field === undefined) return undefined
  const decoded = Schema.decodeUnknownOption(Schema.Struct({ f: field }) as unknown as Schema.Schema<unknown>)({})
  return Option.match(decoded, { onNone: () => undefined, onSome: (value) => (value as Json).f })
}

/** Derives one command's capability, or throws a `CapabilityError`. */
export const ofCommand = (rpc: Rpc.AnyWithProps): CommandCapability => {
  const payload = rpc.payloadSchema as Schema.Schema.Any & { readonly fields?: Schema.Struct.Fields }
  const fields = payload.fields
  if (fields === undefined) {
    throw new CapabilityError(
      `command "${rpc._tag}": its payload must be a struct of parameters (Rpc.make(name, { payload: { ... } }))`
    )
  }
  const root = JSONSchema.make(payload) as Json
  const defs: Json = root.$defs ?? {}
  const required = new Set<string>(root.required ?? [])
  const schema: Record<string, ParamSchema> = {}
  const properties: Json = {}
  for (const [name, raw] of Object.entries<Json>(root.properties ?? {})) {
    const resolved = resolve(raw, defs)
    const param = toParam(rpc._tag, name, resolved, required.has(name), defaultOf(fields[name]))
    schema[name] = param
    const { title, ...rest } = resolved
    properties[name] = {
      ...rest,
      ...(isGeneratedTitle(title) ? {} : { title }),
      ...(param.default !== undefined ? { default: param.default } : {})
    }
  }
  const description = Context.getOption(rpc.annotations, Command.Description).pipe(
    Option.orElse(() => Option.fromNullable(root.description as string | undefined)),
    Option.getOrElse(() => rpc._tag)
  )
  const keys = Context.getOption(rpc.annotations, Command.Keys)
  return {
    name: rpc._tag,
    description,
    schema,
    jsonSchema: {
      $schema: "http://json-schema.org/draft-07/schema#",
      title: rpc._tag,
      description,
      type: "object",
      required: [...required],
      properties,
      additionalProperties: false
    } as JSONSchema.JsonSchema7Root,
    ...(Option.isSome(keys) ? { keys: keys.value } : {})
  }
}

/** Derives every command's capability of a group, in declaration order; throws on the first inexpressible one. */
export const ofGroup = (group: RpcGroup.RpcGroup<any>): ReadonlyArray<CommandCapability> =>
  [...group.requests.values()].map((rpc) => ofCommand(rpc as Rpc.AnyWithProps))

/** A command's file parameters (`Param.file`) and their options, by parameter name. */
export const fileParams = (command: CommandCapability): ReadonlyMap<string, Upload.FileOptions> => {
  const out = new Map<string, Upload.FileOptions>()
  for (const [name, param] of Object.entries(command.schema)) {
    if (param.format === Upload.format) {
      out.set(name, {
        ...(param.accept !== undefined ? { accept: param.accept } : {}),
        ...(param.maxBytes !== undefined ? { maxBytes: param.maxBytes } : {})
      })
    }
  }
  return out
}

/** Reactor's wire shape of the command list (what `modelCapabilities` carries): name, description, schema. */
export const toReactor = (commands: ReadonlyArray<CommandCapability>) =>
  commands.map(({ name, description, schema }) => ({ name, description, schema }))
