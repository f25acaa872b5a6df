/**
 * A server under test, runtime or bare: started as a subprocess with one job, and a way to open a session on it.
 * The runtime side goes through `POST /start_session` then the session's WebSocket transport (docs/PROTOCOL.md);
 * the bare side connects straight to its socket.
 */
import type { Job } from "../servers/Job.js"
import * as Child from "./Child.js"
import * as Client from "./Client.js"

export type Side = "runtime" | "bare"

/** How the runtime side runs its model: in the server's thread (default) or in worker threads. */
export interface RuntimeOptions {
  readonly isolation?: "none" | "worker"
  readonly workers?: number
  /** Extra environment of the server process (e.g. `BENCH_OBSERVED`, `OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * How the runtime side of the per-frame benchmarks (throughput, round trip, pacing, scale) runs its model when a
 * benchmark does not say: in a worker thread, as `reactor run` serves it. `BENCH_RUNTIME_ISOLATION=none` measures
 * them with the model in the server's thread instead.
 */
export const defaultIsolation: "none" | "worker" = process.env.BENCH_RUNTIME_ISOLATION === "none" ? "none" : "worker"

/** A running benchmark server. */
export interface Target {
  readonly side: Side
  readonly pid: number
  readonly port: number
  /** How frames are carried, for notes (e.g. `rgb`). */
  readonly format: string
  /** Opens one session and its socket. */
  readonly open: () => Promise<Client.Connection>
  readonly stop: () => Promise<void>
  /** Runs a full garbage collection in the server (before memory readings). */
  readonly gc: () => void
  readonly stderrTail: () => string
}

const startSession = async (port: number): Promise<string> => {
  const response = await fetch(`http://127.0.0.1:${port}/start_session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}"
  })
  const body = (await response.json()) as { session_id?: string; code?: string; message?: string }
  if (!response.ok || body.session_id === undefined) {
    throw new Error(`start_session answered ${response.status}: ${JSON.stringify(body)}`)
  }
  return body.session_id
}

/** Starts a server of one side doing `job`. */
export const start = async (side: Side, job: Job, options: RuntimeOptions = {}): Promise<Target> => {
  const child = await Child.start(side === "runtime" ? "runtime.ts" : "bare.ts", job, {
    BENCH_ISOLATION: options.isolation ?? "none",
    BENCH_WORKERS: String(options.workers ?? 1),
    ...options.env
  })
  const open = side === "runtime"
    ? async () => {
      const id = await startSession(child.port)
      return Client.connect(`ws://127.0.0.1:${child.port}/sessions/${id}/transport/websocket?format=${child.format}`)
    }
    : () => Client.connect(`ws://127.0.0.1:${child.port}/`)
  return {
    side,
    pid: child.pid,
    port: child.port,
    format: child.format,
    open,
    stop: child.stop,
    gc: () => child.command("gc"),
    stderrTail: child.stderrTail
  }
}

/** Runs `f` with a started target and always stops it. */
export const using = async <A>(
  side: Side,
  job: Job,
  f: (target: Target) => Promise<A>,
  options: RuntimeOptions = {}
): Promise<A> => {
  const target = await start(side, job, options)
  try {
    return await f(target)
  } catch (error) {
    const tail = target.stderrTail()
    throw new Error(
      `${side} server: ${error instanceof Error ? error.message : String(error)}${tail ? `\n${tail}` : ""}`
    )
  } finally {
    await target.stop()
  }
}
