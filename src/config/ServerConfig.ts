/**
 * The HTTP runtime's settings, in one place: documented fields, one default each (`defaults`), how each is checked and
 * described (`fields`), a layer over a partial (`layer`), and every field read from the environment (`config`,
 * `layerFromEnv`: `graceMs` is `REACTOR_GRACE_MS`). The CLI's options and the config file's `server:` section
 * (`ConfigFile`, snake_case keys derived from these fields) supply a partial. Every timing the protocol mentions
 * (liveness, grace, stop deadline) is here so tests can shorten it.
 */
import { Config as EffectConfig, type ConfigError, Context, Effect, Layer, Option } from "effect"
import { fileURLToPath } from "node:url"

/** Settings of the HTTP runtime. */
export interface ServerConfig {
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host: string
  /** Port to listen on; 0 picks a free one (tests, benchmarks). Default 8080. */
  readonly port: number
  /** Sessions at once; one more is refused with 503 `too_many_sessions`. Default 1. */
  readonly maxSessions: number
  /** Bearer token every endpoint requires; none = open (local mode). Defaults to env `REACTOR_TOKEN`. */
  readonly token: string | undefined
  /** Extra origins allowed by CORS (`*` = any). Same origin and `http://localhost:*`, `http://127.0.0.1:*` always are. */
  readonly cors: ReadonlyArray<string>
  /** How long an orphaned session (no socket) waits for its client to come back before it is stopped. Default 30 s. */
  readonly graceMs: number
  /** A socket silent for this long is closed (its session is orphaned). Default 10 s. */
  readonly idleTimeoutMs: number
  /** A session is stopped after running this long; `undefined` = no limit. */
  readonly maxDurationMs: number | undefined
  /** How long a cooperative stop may take before the model's loop is torn down. Default 5 s. */
  readonly stopDeadlineMs: number
  /** A cap on each session's frame rate; `undefined` = the model's own pace. */
  readonly maxFps: number | undefined
  /** Largest text message accepted; a larger one earns `message_too_large` and the socket stays open. 256 KiB. */
  readonly maxMessageBytes: number
  /** Largest WebSocket message read at all; beyond it the socket is closed with 1009. Default 1 MiB. */
  readonly maxPayloadBytes: number
  /** Frames are skipped for a socket with more than this many bytes waiting to be sent. Default 1 MiB. */
  readonly maxBufferedBytes: number
  /** A socket that has this many bytes of text messages waiting (it does not read) is closed. Default 16 MiB. */
  readonly maxBufferedTextBytes: number
  /**
   * Largest frame message a socket sends: a larger one is skipped (counted in `stats.dropped`), so text messages
   * never wait behind more than `maxBufferedBytes + maxFrameBytes` of frames. Default 16 MiB (2048x2048 raw RGB fits).
   */
  readonly maxFrameBytes: number
  /** Largest HTTP request body; a larger one is refused with 413 `body_too_large`. Default 64 KiB. */
  readonly maxBodyBytes: number
  /** Deepest nesting of arrays and objects in a client message; deeper earns `nesting_too_deep`. Default 32. */
  readonly maxDepth: number
  /** Largest error reply: longer messages and issue lists are cut to fit (`truncated: true`). Default 4 KiB. */
  readonly maxErrorBytes: number
  /** Commands per second each connection may send (a token bucket); beyond it `rate_limited`. Default 120. */
  readonly maxCommandsPerSecond: number
  /** Commands a connection may send at once before the per-second budget applies. Default 240. */
  readonly commandBurst: number
  /**
   * Messages per second each connection is read at, of any kind: beyond it the connection is read more slowly
   * (its socket is paused), so one flooding client cannot take the event loop from the others. Default 1000.
   */
  readonly maxMessagesPerSecond: number
  /**
   * Commands a connection may have waiting for their turn (any transport); one more is refused with
   * `too_many_requests`. Default 256.
   */
  readonly maxPendingRequests: number
  /** Interval of the `stats` message. Default 1000 ms. */
  readonly statsIntervalMs: number
  /** A frame sent more than this long after it was released counts as `late` in stats. Default 100 ms. */
  readonly lateMs: number
  /** Default JPEG quality (1..100). Default 80. */
  readonly jpegQuality: number
  /** Directory of the browser page (`index.html`, `app.js`, `app.css`). Default `src/web`. */
  readonly webRoot: string
  /**
   * Whether the model's own error texts (`handler_failed: ...`, `model failed: ...`) reach clients; when not, a client
   * gets a generic text with an error reference, and the log has the full text. Default: on when `host` is a
   * loopback address (a developer's own machine), off otherwise.
   */
  readonly exposeModelErrors: boolean
  /** Each model worker thread's heap limit in MB (worker isolation); default 4096. */
  readonly workerHeapMb: number | undefined
  /** Largest uploaded file (`POST /sessions/{id}/uploads`); a larger one is refused `upload_too_large`. 16 MiB. */
  readonly maxUploadBytes: number
  /** Bytes of uploads one session may hold at once (dropped when it ends); beyond, `upload_quota_exceeded`. 64 MiB. */
  readonly maxSessionUploadBytes: number
  /** How long a command waits for the bytes of an upload it names that are still on their way. Default 10 s. */
  readonly uploadWaitMs: number
  /**
   * The token of the operator endpoints (`/events`, `/clips`); none = the same `token` as every other endpoint.
   * Defaults to env `REACTOR_OPERATOR_TOKEN`.
   */
  readonly operatorToken: string | undefined
  /** Lifecycle events `/events` keeps for replay (`Last-Event-ID`); older ones are dropped. Default 1024. */
  readonly eventHistory: number
  /** Whether each session's output is recorded to HLS segments on disk (`/clips`). Default off. */
  readonly record: boolean
  /** Where recordings go (a directory per session); default a fresh temporary directory. */
  readonly recordDir: string | undefined
  /** Length of one recorded segment in seconds (and the keyframe interval). Default 2. */
  readonly recordSegmentSeconds: number
  /** The most seconds of a session's recording kept on disk; older segments are deleted. Default 300. */
  readonly recordMaxSeconds: number
  /** The most bytes of a session's recording kept on disk; older segments are deleted. Default 256 MiB. */
  readonly recordMaxBytes: number
  /** How long a finished session's recording stays on disk for `/clips`. Default 5 min. */
  readonly recordRetentionMs: number
  /**
   * Whether the server records metrics and serves them at `GET /metrics` (Prometheus' text format, behind the token
   * like every endpoint). Default true.
   */
  readonly metrics: boolean
}

/** Whether an address only this machine can reach: `localhost`, `127.x.x.x`, `::1`. */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host)

/**
 * The defaults, one per field; `token` falls back to `REACTOR_TOKEN` when not given, and `exposeModelErrors` to
 * whether `host` is a loopback address (see `make`).
 */
export const defaults: ServerConfig = {
  host: "127.0.0.1",
  port: 8080,
  maxSessions: 1,
  token: undefined,
  cors: [],
  graceMs: 30_000,
  idleTimeoutMs: 10_000,
  maxDurationMs: undefined,
  stopDeadlineMs: 5_000,
  maxFps: undefined,
  maxMessageBytes: 256 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxBufferedBytes: 1024 * 1024,
  maxBufferedTextBytes: 16 * 1024 * 1024,
  maxFrameBytes: 16 * 1024 * 1024,
  maxBodyBytes: 64 * 1024,
  maxDepth: 32,
  maxErrorBytes: 4 * 1024,
  maxCommandsPerSecond: 120,
  commandBurst: 240,
  maxMessagesPerSecond: 1000,
  maxPendingRequests: 256,
  statsIntervalMs: 1_000,
  lateMs: 100,
  jpegQuality: 80,
  webRoot: fileURLToPath(new URL("../web/", import.meta.url)),
  exposeModelErrors: true,
  workerHeapMb: undefined,
  maxUploadBytes: 16 * 1024 * 1024,
  maxSessionUploadBytes: 64 * 1024 * 1024,
  uploadWaitMs: 10_000,
  operatorToken: undefined,
  eventHistory: 1024,
  record: false,
  recordDir: undefined,
  recordSegmentSeconds: 2,
  recordMaxSeconds: 300,
  recordMaxBytes: 256 * 1024 * 1024,
  recordRetentionMs: 5 * 60_000,
  metrics: true
}

/** Settings as callers give them: any field may be left out (or `undefined`) for its default. */
export type Input = { readonly [K in keyof ServerConfig]?: ServerConfig[K] | undefined }

/** What values a field takes: the check applied to the environment and to the config file alike. */
export type Kind = "text" | "port" | "count" | "ms" | "interval" | "bytes" | "rate" | "quality" | "origins" | "flag"

const isInt = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value)

/** Each kind's check, and what it expects in words (for error messages). */
export const kinds: {
  readonly [K in Kind]: { readonly valid: (value: unknown) => boolean; readonly expected: string }
} = {
  text: { valid: (value) => typeof value === "string", expected: "a string" },
  port: { valid: (value) => isInt(value) && value >= 0 && value <= 65535, expected: "an integer from 0 to 65535" },
  count: { valid: (value) => isInt(value) && value >= 1, expected: "an integer >= 1" },
  ms: { valid: (value) => isInt(value) && value >= 0, expected: "a whole number of milliseconds >= 0" },
  interval: { valid: (value) => isInt(value) && value >= 1, expected: "a whole number of milliseconds >= 1" },
  bytes: { valid: (value) => isInt(value) && value >= 1, expected: "a whole number of bytes >= 1" },
  rate: {
    valid: (value) => typeof value === "number" && Number.isFinite(value) && value > 0,
    expected: "a number > 0"
  },
  quality: { valid: (value) => isInt(value) && value >= 1 && value <= 100, expected: "an integer from 1 to 100" },
  origins: {
    valid: (value) => Array.isArray(value) && value.every((item) => typeof item === "string"),
    expected: "a list of origins (strings)"
  },
  flag: { valid: (value) => typeof value === "boolean", expected: "true or false" }
}

/** How one field is checked and described. */
export interface Field {
  readonly kind: Kind
  readonly description: string
}

/** Every field's kind and description, in the order of `ServerConfig`; the env and the file are derived from it. */
export const fields: { readonly [K in keyof ServerConfig]-?: Field } = {
  host: { kind: "text", description: "the address to listen on" },
  port: { kind: "port", description: "the port to listen on (0 = any free port)" },
  maxSessions: { kind: "count", description: "sessions at once" },
  token: { kind: "text", description: "a bearer token every request must carry (none = open)" },
  cors: { kind: "origins", description: "extra allowed origins, comma-separated in the environment (* = any)" },
  graceMs: { kind: "ms", description: "orphan grace window (ms)" },
  idleTimeoutMs: { kind: "ms", description: "socket silence limit (ms)" },
  maxDurationMs: { kind: "ms", description: "session duration limit (ms; none = no limit)" },
  stopDeadlineMs: { kind: "ms", description: "cooperative stop deadline (ms)" },
  maxFps: { kind: "rate", description: "frame rate cap per session (none = the model's pace)" },
  maxMessageBytes: { kind: "bytes", description: "largest text message accepted" },
  maxPayloadBytes: { kind: "bytes", description: "largest WebSocket message read at all" },
  maxBufferedBytes: { kind: "bytes", description: "per-socket frame send buffer limit" },
  maxBufferedTextBytes: { kind: "bytes", description: "per-socket text send buffer limit" },
  maxFrameBytes: { kind: "bytes", description: "largest frame message a socket sends; larger ones are skipped" },
  maxBodyBytes: { kind: "bytes", description: "HTTP request body limit" },
  maxDepth: { kind: "count", description: "deepest nesting of a client message" },
  maxErrorBytes: { kind: "bytes", description: "largest error reply" },
  maxCommandsPerSecond: { kind: "rate", description: "command budget per connection (per second)" },
  commandBurst: { kind: "count", description: "commands at once per connection" },
  maxMessagesPerSecond: { kind: "rate", description: "messages read per second per connection" },
  maxPendingRequests: { kind: "count", description: "RPC commands waiting per connection" },
  statsIntervalMs: { kind: "interval", description: "interval of the stats message (ms)" },
  lateMs: { kind: "ms", description: "a frame sent later than this after its release counts as late (ms)" },
  jpegQuality: { kind: "quality", description: "default JPEG quality 1..100" },
  webRoot: { kind: "text", description: "directory of the browser page" },
  exposeModelErrors: {
    kind: "flag",
    description: "the model's own error texts reach clients (default: on for a loopback host)"
  },
  workerHeapMb: { kind: "count", description: "each model worker thread's heap limit (MB; default 4096)" },
  maxUploadBytes: { kind: "bytes", description: "largest uploaded file" },
  maxSessionUploadBytes: { kind: "bytes", description: "bytes of uploads one session may hold" },
  uploadWaitMs: { kind: "ms", description: "how long a command waits for an upload's bytes (ms)" },
  operatorToken: {
    kind: "text",
    description: "a bearer token of the operator endpoints /events and /clips (none = the token of every request)"
  },
  eventHistory: { kind: "count", description: "lifecycle events kept for replay on /events" },
  record: { kind: "flag", description: "record each session's output to HLS segments (/clips)" },
  recordDir: { kind: "text", description: "directory of the recordings (default: a fresh temporary one)" },
  recordSegmentSeconds: { kind: "count", description: "length of a recorded segment (s)" },
  recordMaxSeconds: { kind: "count", description: "seconds of a session's recording kept; older segments go" },
  recordMaxBytes: { kind: "bytes", description: "bytes of a session's recording kept; older segments go" },
  recordRetentionMs: { kind: "ms", description: "how long a finished recording is kept (ms)" },
  metrics: { kind: "flag", description: "record metrics and serve them at GET /metrics (Prometheus text format)" }
}

/** The field names, in order. */
export const keys = Object.keys(fields) as ReadonlyArray<keyof ServerConfig>

/** A field's environment variable: `graceMs` is `REACTOR_GRACE_MS`. */
export const envName = (key: keyof ServerConfig): string =>
  `REACTOR_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`

/** Fills in the defaults; an empty token counts as none, and no token falls back to `REACTOR_TOKEN`. */
export const make = (input: Input = {}): ServerConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
  const config = out as unknown as ServerConfig
  const token = config.token ?? process.env[envName("token")]
  const operatorToken = config.operatorToken ?? process.env[envName("operatorToken")]
  return {
    ...config,
    token: token === undefined || token === "" ? undefined : token,
    operatorToken: operatorToken === undefined || operatorToken === "" ? undefined : operatorToken,
    exposeModelErrors: input.exposeModelErrors ?? isLoopback(config.host)
  }
}

/** The settings service. */
export class Config extends Context.Tag("effect-reactor/server/ServerConfig")<Config, ServerConfig>() {}

/** The settings as a layer, defaults filled in. */
export const layer = (input: Input = {}): Layer.Layer<Config> => Layer.succeed(Config, make(input))

/** The settings with every default (tests, embedding). */
export const layerDefaults: Layer.Layer<Config> = layer()

/** One field read from its environment variable (`REACTOR_GRACE_MS`), checked by its kind and described. */
const fromVariable = (key: keyof ServerConfig): EffectConfig.Config<unknown> => {
  const { description, kind } = fields[key]
  const name = envName(key)
  const base: EffectConfig.Config<unknown> = kind === "text"
    ? EffectConfig.string(name)
    : kind === "origins"
    ? EffectConfig.map(
      EffectConfig.string(name),
      (list) => list.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "")
    )
    : kind === "rate"
    ? EffectConfig.number(name)
    : kind === "flag"
    ? EffectConfig.boolean(name)
    : EffectConfig.integer(name)
  return base.pipe(
    EffectConfig.validate({ message: `expected ${kinds[kind].expected}`, validation: kinds[kind].valid }),
    EffectConfig.withDescription(description)
  )
}

const everyField = <A>(f: (key: keyof ServerConfig) => EffectConfig.Config<A>) =>
  EffectConfig.all(Object.fromEntries(keys.map((key) => [key, f(key)])))

/** Every setting, each from its environment variable (`REACTOR_GRACE_MS`) or else its default. */
export const config: EffectConfig.Config<ServerConfig> = EffectConfig.map(
  everyField((key) => EffectConfig.withDefault(fromVariable(key), defaults[key])),
  (values) => make(values as Input)
)

/** The settings given in the environment, and only those: a partial to lay under explicit settings. */
export const fromEnv: EffectConfig.Config<Input> = EffectConfig.map(
  everyField((key) => EffectConfig.option(fromVariable(key))),
  (values) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(values)) if (Option.isSome(value)) out[key] = value.value
    return out as Input
  }
)

/** Explicit settings over the environment's (fields left `undefined` are not explicit). */
export const withEnv = (input: Input): Effect.Effect<Input, ConfigError.ConfigError> =>
  Effect.map(fromEnv, (env) => {
    const out: Record<string, unknown> = { ...env }
    for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
    return out as Input
  })

/** The settings as a layer: explicit ones over the environment's over the defaults. */
export const layerFromEnv = (input: Input = {}): Layer.Layer<Config, ConfigError.ConfigError> =>
  Layer.effect(Config, Effect.map(withEnv(input), make))
