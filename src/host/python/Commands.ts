/**
 * A Python model's commands as the runtime's own declaration: each parameter the Python side read from a
 * `@command` signature (a JSON Schema property) becomes the `Param` builder a TypeScript model would have written,
 * so the command group, its capabilities, its validation and every error message are those of the equivalent
 * TypeScript model.
 */
import type * as Rpc from "@effect/rpc/Rpc"
import { Schema } from "effect"
import * as Command from "../../model/Command.js"
import * as Param from "../../model/Param.js"
import * as Upload from "../../model/Upload.js"
import type { CommandDeclaration, ParamDeclaration } from "./Process.js"

/** A declaration the runtime cannot express (the Python side checks first; this is the runtime's own check). */
export class DeclarationError extends Error {
  override readonly name = "DeclarationError"
}

const known = new Set([
  "type",
  "enum",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "description",
  "default",
  "format"
])

const typeOfDefault = {
  string: "string",
  integer: "number",
  number: "number",
  boolean: "boolean",
  object: "object"
} as const

const optionsOf = (
  where: string,
  param: ParamDeclaration,
  required: boolean
): { readonly description?: string; readonly default?: any } => {
  if (!required && param.default !== undefined && typeof param.default !== typeOfDefault[param.type]) {
    throw new DeclarationError(`${where}: its default ${JSON.stringify(param.default)} is not a ${param.type}`)
  }
  return {
    ...(param.description !== undefined ? { description: param.description } : {}),
    ...(!required && param.default !== undefined ? { default: param.default } : {})
  }
}

/** The `Param` builder call a TypeScript model would write for this parameter. */
export const toField = (command: string, name: string, param: ParamDeclaration, required: boolean): any => {
  const where = `command "${command}", parameter "${name}"`
  for (const key of Object.keys(param)) {
    if (!known.has(key)) throw new DeclarationError(`${where}: "${key}" is not supported`)
  }
  const common = optionsOf(where, param, required)
  const bounds = {
    ...(param.minimum !== undefined ? { min: param.minimum } : {}),
    ...(param.maximum !== undefined ? { max: param.maximum } : {}),
    ...(param.exclusiveMinimum !== undefined ? { exclusiveMin: param.exclusiveMinimum } : {}),
    ...(param.exclusiveMaximum !== undefined ? { exclusiveMax: param.exclusiveMaximum } : {})
  }
  switch (param.type) {
    case "string":
      if (param.enum !== undefined) {
        if (param.enum.length === 0 || !param.enum.every((value) => typeof value === "string")) {
          throw new DeclarationError(`${where}: a choice must list one or more strings`)
        }
        return Param.literal(param.enum as unknown as readonly [string, ...Array<string>], common)
      }
      return Param.string({
        ...common,
        ...(param.minLength !== undefined ? { minLength: param.minLength } : {}),
        ...(param.maxLength !== undefined ? { maxLength: param.maxLength } : {})
      })
    case "integer":
      return Param.int({ ...common, ...bounds })
    case "number":
      return Param.number({ ...common, ...bounds })
    case "boolean":
      return Param.boolean(common)
    case "object":
      if (param.format === Upload.format) return Param.file(common)
      throw new DeclarationError(`${where}: an object parameter must be an UploadedFile`)
    default:
      throw new DeclarationError(`${where}: type ${JSON.stringify(param.type)} is not supported`)
  }
}

/** One command's declaration as an Rpc, its payload built from `Param`. */
export const toCommand = (declaration: CommandDeclaration): Rpc.Rpc<string, Schema.Struct<Schema.Struct.Fields>> => {
  const required = new Set(declaration.schema.required)
  const payload: Record<string, Schema.Struct.Field> = {}
  for (const [name, param] of Object.entries(declaration.schema.properties)) {
    payload[name] = toField(declaration.name, name, param, required.has(name))
  }
  return Command.make(declaration.name, {
    description: declaration.description || declaration.name,
    payload,
    // a method that declares a return type replies with what it returns (JSON, as the Python side checked)
    ...(declaration.returns === true ? { success: Schema.Unknown } : {})
  }) as Rpc.Rpc<string, Schema.Struct<Schema.Struct.Fields>>
}

/** The command group of a Python model. */
export const toGroup = (declarations: ReadonlyArray<CommandDeclaration>) =>
  Command.group(...declarations.map(toCommand))
