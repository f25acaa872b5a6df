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
