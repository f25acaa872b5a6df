/**
 * Reads a model's YAML config file: the model's keys, and the runtime's `server:` section (any `ServerConfig` field,
 * in snake_case). Errors name the file and, for syntax errors, the line.
 */
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"
import { parse as parseYaml, YAMLParseError } from "yaml"
import * as ServerConfig from "./ServerConfig.js"

/** The config file is missing, unreadable, not YAML, or not a mapping. */
export class ConfigFileError
  extends Data.TaggedError("ConfigFileError")<{ readonly file: string; readonly reason: string }>
{
  override get message() {
    return `config file ${this.file}: ${this.reason}`
  }
}

/** Loads and parses a YAML config file into a plain object. An empty file is an empty config. */
export const load = (file: string): Effect.Effect<Record<string, unknown>, ConfigFileError> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (error) =>
        new ConfigFileError({
          file,
          reason: (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error)
        })
    })
    const value = yield* Effect.try({
      try: () => parseYaml(text) as unknown,
      catch: (error) =>
        new ConfigFileError({
          file,
          reason: error instanceof YAMLParseError
            ? `not valid YAML at line ${error.linePos?.[0]?.line ?? "?"}: ${
              error.message.split("\n")[0]!.replace(/:\s*$/, "")
            }`
            : String(error)
        })
    })
    if (value === null || value === undefined) return {}
    if (typeof value !== "object" || Array.isArray(value)) {
      return yield* new ConfigFileError({ file, reason: "the top level must be a mapping of keys to values" })
    }
    return value as Record<string, unknown>
  })

/** The HTTP runtime's settings from a config file's optional `server:` section: a partial of `ServerConfig`. */
export type ServerSection = ServerConfig.Input

/** A field's key in the file: `maxSessions` is `max_sessions`. */
export const fileKey = (key: keyof ServerConfig.ServerConfig): string =>
  key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)

/** The `server:` keys, derived from `ServerConfig.fields` (every setting may be given in the file). */
const serverKeys: ReadonlyMap<string, keyof ServerConfig.ServerConfig> = new Map(
  ServerConfig.keys.map((key) => [fileKey(key), key])
)

/**
 * Splits a loaded config file into the model's config (every top-level key but `server`) and the runtime's `server:`
 * section, checking the latter. The model's part is validated later, by the model's own schema.
 */
export const sections = (
  file: string,
  value: Record<string, unknown>
): Effect.Effect<{ readonly model: Record<string, unknown>; readonly server: ServerSection }, ConfigFileError> =>
  Effect.gen(function*() {
    const { server, ...model } = value
    if (server === undefined || server === null) return { model, server: {} }
    if (typeof server !== "object" || Array.isArray(server)) {
      return yield* new ConfigFileError({ file, reason: "server: expected a mapping of server settings" })
    }
    const out: Record<string, unknown> = {}
    for (const [key, raw] of Object.entries(server)) {
      const field = serverKeys.get(key)
      if (field === undefined) {
        return yield* new ConfigFileError({
          file,
          reason: `server.${key}: unknown setting; known: ${[...serverKeys.keys()].join(", ")}`
        })
      }
      const { expected, valid } = ServerConfig.kinds[ServerConfig.fields[field].kind]
      if (!valid(raw)) {
        return yield* new ConfigFileError({
          file,
          reason: `server.${key}: expected ${expected}, got ${JSON.stringify(raw)}`
        })
      }
      out[field] = raw
    }
    return { model, server: out as ServerSection }
  })
