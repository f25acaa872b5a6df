/**
 * The HTTP runtime's settings: documented fields, their defaults, and a layer. Every timing the protocol mentions
 * (liveness, grace, stop deadline) is here so tests can shorten it.
 */
import { Config as EffectConfig, type ConfigError, Context, Effect, Layer, Option } from "effect"
import { fileURLToPath } from "node:url"

/** Settings of the HTTP runtime. */
export interface ServerConfig {
  /** Interface to listen on. Default `localhost`. */
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
}

/** Whether an address only this machine can reach: `localhost`, `127.x.x.x`, `::1`. */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host)

/** The defaults; `token` is read from `REACTOR_TOKEN` when not given. */
export const defaults: ServerConfig = {
  host: "localhost",
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
  workerHeapMb: undefined
}

/** Settings as callers give them: any field may be left out (or `undefined`) for its default. */
export type Input = { readonly [K in keyof ServerConfig]?: ServerConfig[K] | undefined }

/** Fills in the defaults; an empty token counts as none. */
export const make = (input: Input = {}): ServerConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
  const config = out as unknown as ServerConfig
  const token = config.token ?? process.env.REACTOR_TOKEN
  return {
    ...config,
    token: token === undefined || token === "" ? undefined : token,
    exposeModelErrors: input.exposeModelErrors ?? isLoopback(config.host)
  }
}

/** The settings service. */
export class Config extends Context.Tag("effect-reactor/server/ServerConfig")<Config, ServerConfig>() {}

/** The settings as a layer, defaults filled in. */
export const layer = (input: Input = {}) => Layer.succeed(Config, make(input))

const optional = <A>(config: EffectConfig.Config<A>) =>
  EffectConfig.option(config).pipe(EffectConfig.map(Option.getOrUndefined))

/**
 * The settings an operator may give in the environment (`REACTOR_GRACE_MS=5000`); the CLI's options win over them.
 * Host, port, session limit and token come from the CLI and its config file (`REACTOR_TOKEN` is read by `make`).
 */
export const fromEnv: EffectConfig.Config<Input> = EffectConfig.all({
  graceMs: optional(
    EffectConfig.integer("REACTOR_GRACE_MS").pipe(EffectConfig.withDescription("orphan grace window (ms)"))
  ),
  idleTimeoutMs: optional(
    EffectConfig.integer("REACTOR_IDLE_TIMEOUT_MS").pipe(EffectConfig.withDescription("socket silence limit (ms)"))
  ),
  maxDurationMs: optional(
    EffectConfig.integer("REACTOR_MAX_DURATION_MS").pipe(EffectConfig.withDescription("session duration limit (ms)"))
  ),
  stopDeadlineMs: optional(
    EffectConfig.integer("REACTOR_STOP_DEADLINE_MS").pipe(
      EffectConfig.withDescription("cooperative stop deadline (ms)")
    )
  ),
  maxFps: optional(
    EffectConfig.number("REACTOR_MAX_FPS").pipe(EffectConfig.withDescription("frame rate cap per session"))
  ),
  cors: optional(
    EffectConfig.string("REACTOR_CORS").pipe(
      EffectConfig.map((list) => list.split(",").map((origin) => origin.trim()).filter((origin) => origin !== "")),
      EffectConfig.withDescription("extra allowed origins, comma-separated (* = any)")
    )
  ),
  maxBufferedBytes: optional(
    EffectConfig.integer("REACTOR_MAX_BUFFERED_BYTES").pipe(
      EffectConfig.withDescription("per-socket frame send buffer limit")
    )
  ),
  maxCommandsPerSecond: optional(
    EffectConfig.number("REACTOR_MAX_COMMANDS_PER_SECOND").pipe(
      EffectConfig.withDescription("command budget per connection")
    )
  ),
  commandBurst: optional(
    EffectConfig.integer("REACTOR_COMMAND_BURST").pipe(EffectConfig.withDescription("commands at once per connection"))
  ),
  maxBodyBytes: optional(
    EffectConfig.integer("REACTOR_MAX_BODY_BYTES").pipe(EffectConfig.withDescription("HTTP request body limit"))
  ),
  jpegQuality: optional(
    EffectConfig.integer("REACTOR_JPEG_QUALITY").pipe(EffectConfig.withDescription("default JPEG quality 1..100"))
  ),
  webRoot: optional(
    EffectConfig.string("REACTOR_WEB_ROOT").pipe(EffectConfig.withDescription("directory of the browser page"))
  )
})

/** Explicit settings over the environment's over the defaults. */
export const withEnv = (input: Input): Effect.Effect<Input, ConfigError.ConfigError> =>
  Effect.map(fromEnv, (env) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value
    for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
    return out as Input
  })
