/**
 * The command list a headless session prints: every command with its parameters, their types, bounds, defaults and
 * descriptions, read from the model's capabilities, and how to type a command.
 */
import type * as Capabilities from "../model/Capabilities.js"
import * as CommandLine from "./CommandLine.js"

const show = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value))

/** One parameter as a line: `speed  number 0..4, default 1: Animation speed`. */
export const describeParam = (
  param: Capabilities.ParamSchema,
  json: Record<string, unknown> | undefined
): string => {
  const facts: Array<string> = []
  if (param.enum !== undefined) facts.push(`one of ${param.enum.map(show).join(" | ")}`)
  else if (param.format !== undefined) {
    facts.push(`a file, typed @path${param.accept !== undefined ? ` (${param.accept.join(", ")})` : ""}`)
  } else {
    let type: string = param.type
    if (param.minimum !== undefined && param.maximum !== undefined) type += ` ${param.minimum}..${param.maximum}`
    else if (param.minimum !== undefined) type += ` >= ${param.minimum}`
    else if (param.maximum !== undefined) type += ` <= ${param.maximum}`
    facts.push(type)
  }
  if (typeof json?.maxLength === "number") facts.push(`at most ${json.maxLength} characters`)
  if (param.default !== undefined) facts.push(`default ${show(param.default)}`)
  else if (param.required === true) facts.push("required")
  else facts.push("optional")
  return facts.join(", ") + (param.description !== undefined ? `: ${param.description}` : "")
}

/** An example payload for a command, made of its defaults or of placeholder values. */
export const exampleData = (command: Capabilities.CommandCapability): Record<string, unknown> => {
  const data: Record<string, unknown> = {}
  for (const [name, param] of Object.entries(command.schema)) {
    data[name] = param.default ??
      (param.enum?.[0] ??
        (param.format !== undefined
          ? "@picture.png"
          : param.type === "boolean"
          ? true
          : param.type === "string"
          ? "text"
          : param.minimum !== undefined && param.maximum !== undefined
          ? (param.type === "integer" ? Math.round : (x: number) => x)((param.minimum + param.maximum) / 2)
          : param.minimum ?? param.maximum ?? 1))
  }
  return data
}

/** The whole list, ready to print. */
export const render = (
  model: { readonly name: string; readonly version?: string | undefined },
  commands: ReadonlyArray<Capabilities.CommandCapability>
): string => {
  const lines: Array<string> = []
  lines.push(`Commands of ${model.name}${model.version !== undefined ? ` ${model.version}` : ""}:`)
  if (commands.length === 0) lines.push("  (none)")
  for (const command of commands) {
    lines.push(`  ${command.name}: ${command.description}`)
    const properties = (command.jsonSchema as { properties?: Record<string, Record<string, unknown>> }).properties ?? {}
    const params = Object.entries(command.schema)
    if (params.length === 0) lines.push("    (no parameters)")
    const width = Math.max(0, ...params.map(([name]) => name.length))
    for (const [name, param] of params) {
      lines.push(`    ${name.padEnd(width)}  ${describeParam(param, properties[name])}`)
    }
  }
  const first = commands[0]
  lines.push(
    "Type one command per line, as `name key=value ...` or as JSON, e.g.:",
    ...(first !== undefined
      ? [
        `  ${CommandLine.format(first.name, exampleData(first))}`,
        `  ${JSON.stringify({ type: first.name, data: exampleData(first) })}`
      ]
      : []),
    "`help` prints this list again; end of input (Ctrl-D) or Ctrl-C stops the session."
  )
  return lines.join("\n")
}
