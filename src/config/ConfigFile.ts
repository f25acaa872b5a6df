/**
 * Reads a model's YAML config file. Errors name the file and, for syntax errors, the line.
 */
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"
import { parse as parseYaml, YAMLParseError } from "yaml"

/** The config file is missing, unreadable, not YAML, or not a mapping. */
export class ConfigFileError extends Data.TaggedError("ConfigFileError")<{ readonly file: string; readonly reason: string }> {
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
            ? `not valid YAML at line ${error.linePos?.[0]?.line ?? "?"}: ${error.message.split("\n")[0]}`
            : String(error)
        })
    })
    if (value === null || value === undefined) return {}
    if (typeof value !== "object" || Array.isArray(value)) {
      return yield* new ConfigFileError({ file, reason: "the top level must be a mapping of keys to values" })
    }
    return value as Record<string, unknown>
  })

/** The HTTP runtime's settings in a config file's optional `server:` section. */
export interface ServerSection {
  readonly host?: string
  readonly port?: number
  readonly max_sessions?: number
  readonly token?: string
}

const serverKeys: Record<keyof ServerSection, "string" | "port" | "count"> = {
  host: "string",
  port: "port",
  max_sessions: "count",
  token: "string"
}

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
      const kind = serverKeys[key as keyof ServerSection]
      if (kind === undefined) {
        return yield* new ConfigFileError({
          file,
          reason: `server.${key}: unknown setting; known: ${Object.keys(serverKeys).join(", ")}`
        })
      }
      const ok = kind === "string"
        ? typeof raw === "string"
        : kind === "port"
        ? Number.isInteger(raw) && (raw as number) >= 0 && (raw as number) <= 65535
        : Number.isInteger(raw) && (raw as number) >= 1
      if (!ok) {
        const expected = kind === "string" ? "a string" : kind === "port" ? "an integer from 0 to 65535" : "an integer >= 1"
        return yield* new ConfigFileError({ file, reason: `server.${key}: expected ${expected}, got ${JSON.stringify(raw)}` })
      }
      out[key] = raw
    }
    return { model, server: out as ServerSection }
  })
