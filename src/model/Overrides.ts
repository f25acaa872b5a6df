/**
 * Reactor-style config overrides (`--model.fps=60`), typed by the model's config schema: a value for a string key
 * stays a string, any other value is read as a YAML scalar (`60`, `0.5`, `true`, `[1, 2]`).
 */
import { parse as parseYaml } from "yaml"

/** One `--model.a.b=value` override. */
export interface Override {
  readonly path: ReadonlyArray<string>
  readonly raw: string
}

/** Parses `--model.key=value` / `--model.key value` pairs out of argv; returns the overrides and the other args. */
export const extract = (argv: ReadonlyArray<string>): { overrides: Array<Override>; rest: Array<string> } => {
  const overrides: Array<Override> = []
  const rest: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const match = /^--model\.([^=]+)(?:=(.*))?$/s.exec(arg)
    if (match === null) {
      rest.push(arg)
      continue
    }
    const key = match[1]!
    let raw = match[2]
    if (raw === undefined) {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith("--")) raw = "true"
      else {
        raw = next
        i++
      }
    }
    overrides.push({ path: key.split("."), raw })
  }
  return { overrides, rest }
}

type Json = Record<string, any>

const schemaAt = (schema: Json | undefined, path: ReadonlyArray<string>, root: Json): Json | undefined => {
  let node = schema
  for (const key of path) {
    while (node !== undefined && typeof node.$ref === "string") node = root.$defs?.[node.$ref.replace("#/$defs/", "")]
    node = node?.properties?.[key]
  }
  while (node !== undefined && typeof node.$ref === "string") node = root.$defs?.[node.$ref.replace("#/$defs/", "")]
  return node
}

const typed = (raw: string, schema: Json | undefined): unknown => {
  if (schema?.type === "string") return raw
  if (schema?.type === "number" || schema?.type === "integer") {
    // A number key reads JavaScript numbers, including what YAML spells differently ("Infinity", "NaN").
    const text = raw.trim()
    if (text === "NaN") return Number.NaN
    const value = Number(text)
    if (text !== "" && !Number.isNaN(value)) return value
  }
  try {
    return parseYaml(raw)
  } catch {
    return raw
  }
}

/** Merges overrides into a config object (not mutating it), typing each value by the schema at its path. */
export const apply = (value: unknown, overrides: ReadonlyArray<Override>, jsonSchema: unknown): unknown => {
  if (overrides.length === 0) return value
  const root: Json = typeof value === "object" && value !== null ? structuredClone(value) as Json : {}
  for (const { path, raw } of overrides) {
    let node: Json = root
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== "object" || node[key] === null) node[key] = {}
      node = node[key]
    }
    node[path[path.length - 1]!] = typed(raw, schemaAt(jsonSchema as Json, path, jsonSchema as Json))
  }
  return root
}
