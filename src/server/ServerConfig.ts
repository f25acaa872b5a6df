/**
 * The HTTP runtime's settings: documented fields, their defaults, and a layer. Every timing the protocol mentions
 * (liveness, grace, stop deadline) is here so tests can shorten it.
 */
import { Context, Layer } from "effect"
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
  /** Interval of the `stats` message. Default 1000 ms. */
  readonly statsIntervalMs: number
  /** A frame sent more than this long after it was released counts as `late` in stats. Default 100 ms. */
  readonly lateMs: number
  /** Default JPEG quality (1..100). Default 80. */
  readonly jpegQuality: number
  /** Directory of the browser page (`index.html`, `app.js`, `app.css`). Default `src/web`. */
  readonly webRoot: string
}

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
  statsIntervalMs: 1_000,
  lateMs: 100,
  jpegQuality: 80,
  webRoot: fileURLToPath(new URL("../web/", import.meta.url))
}

/** Settings as callers give them: any field may be left out (or `undefined`) for its default. */
export type Input = { readonly [K in keyof ServerConfig]?: ServerConfig[K] | undefined }

/** Fills in the defaults; an empty token counts as none. */
export const make = (input: Input = {}): ServerConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
  const config = out as unknown as ServerConfig
  const token = config.token ?? process.env.REACTOR_TOKEN
  return { ...config, token: token === undefined || token === "" ? undefined : token }
}

/** The settings service. */
export class Config extends Context.Tag("effect-reactor/server/ServerConfig")<Config, ServerConfig>() {}

/** The settings as a layer, defaults filled in. */
export const layer = (input: Input = {}) => Layer.succeed(Config, make(input))
