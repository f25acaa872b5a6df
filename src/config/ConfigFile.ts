/**
 * Reads a model's YAML config file. Errors name the file and, for syntax errors, the line.
 */
import { Data, Effect } from "effect"
import { readFile } from "node:fs/promises"
import { parse as parseYaml, YAMLParseError } from "yaml"

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

/** The HTTP runtime's settings from a config file's optional `server:` section (snake_case in the file). */
export interface ServerSection {
  readonly host?: string
  readonly port?: number
  readonly maxSessions?: number
  readonly token?: string
  readonly cors?: ReadonlyArray<string>
  readonly maxFps?: number
  readonly stopDeadlineMs?: number
  readonly graceMs?: number
  readonly idleTimeoutMs?: number
  readonly maxDurationMs?: number
  readonly jpegQuality?: number
  readonly exposeModelErrors?: boolean
  readonly workerHeapMb?: number
}

type Kind = "string" | "port" | "count" | "ms" | "origins" | "fps" | "quality" | "boolean"

const serverKeys: Record<string, readonly [keyof ServerSection, Kind]> = {
  host: ["host", "string"],
  port: ["port", "port"],
  max_sessions: ["maxSessions", "count"],
  token: ["token", "string"],
  cors: ["cors", "origins"],
  max_fps: ["maxFps", "fps"],
  stop_deadline_ms: ["stopDeadlineMs", "ms"],
  grace_ms: ["graceMs", "ms"],
  idle_timeout_ms: ["idleTimeoutMs", "ms"],
  max_duration_ms: ["maxDurationMs", "ms"],
  jpeg_quality: ["jpegQuality", "quality"],
  expose_model_errors: ["exposeModelErrors", "boolean"],
  worker_heap_mb: ["workerHeapMb", "count"]
}

const isInt = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value)

const check: Record<Kind, readonly [(value: unknown) => boolean, string]> = {
  string: [(value) => typeof value === "string", "a string"],
  port: [(value) => isInt(value) && value >= 0 && value <= 65535, "an integer from 0 to 65535"],
  count: [(value) => isInt(value) && value >= 1, "an integer >= 1"],
  ms: [(value) => isInt(value) && value >= 0, "a whole number of milliseconds >= 0"],
  origins: [
    (value) => Array.isArray(value) && value.every((item) => typeof item === "string"),
    "a list of origins (strings)"
  ],
  fps: [(value) => typeof value === "number" && Number.isFinite(value) && value > 0, "a number > 0"],
  quality: [(value) => isInt(value) && value >= 1 && value <= 100, "an integer from 1 to 100"],
  boolean: [(value) => typeof value === "boolean", "true or false"]
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
      const known = serverKeys[key]
      if (known === undefined) {
        return yield* new ConfigFileError({
          file,
          reason: `server.${key}: unknown setting; known: ${Object.keys(serverKeys).join(", ")}`
        })
      }
      const [field, kind] = known
      const [ok, expected] = check[kind]
      if (!ok(raw)) {
        return yield* new ConfigFileError({
          file,
          reason: `server.${key}: expected ${expected}, got ${JSON.stringify(raw)}`
        })
      }
      out[field] = raw
    }
    return { model, server: out as ServerSection }
  })
