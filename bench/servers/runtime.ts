/**
 * The runtime side: the HTTP/WebSocket server (`src/server`) serving the bench model of a job. Run as a subprocess by
 * the benchmarks: `node --import tsx bench/servers/runtime.ts '<job json>'`; prints `{port, pid, format}` once
 * listening. The model runs in this thread, or with `BENCH_ISOLATION=worker` in `BENCH_WORKERS` worker threads (as
 * `reactor run` serves it), loaded there from `JobModel.ts`. Logs below Warning are off (one line per session start
 * would measure the logger), and the liveness timeout and the per-connection budgets are lifted because benchmark
 * clients only read, or send as fast as they can (the bare server has neither).
 */
import { Effect, Logger, LogLevel } from "effect"
import { fileURLToPath } from "node:url"
import * as Model from "../../src/model/Model.js"
import * as Server from "../../src/server/Server.js"
import * as Control from "./Control.js"
import type { Job } from "./Job.js"
import * as Models from "./Models.js"

const job = JSON.parse(process.argv[2] ?? "{}") as Job

const program = Effect.gen(function*() {
  const serving: Server.Serving = process.env.BENCH_ISOLATION === "worker"
    ? {
      _tag: "Worker",
      module: fileURLToPath(new URL("./JobModel.ts", import.meta.url)),
      workers: Number(process.env.BENCH_WORKERS ?? 1)
    }
    : Models.make(job)
  process.env.BENCH_JOB = JSON.stringify(job)
  const server = yield* Server.start(serving, {
    host: "127.0.0.1",
    port: 0,
    maxSessions: 4096,
    idleTimeoutMs: 60 * 60_000,
    // Metrics are on by default, as in production; `BENCH_OBSERVED=0` turns them off (the observability benchmark).
    metrics: process.env.BENCH_OBSERVED !== "0",
    // The per-connection budgets are lifted (benchmark clients send as fast as they can, like the bare server
    // allows), except for a job that measures them (`limits: "default"`, the fairness benchmark).
    ...("limits" in job && job.limits === "default"
      ? {}
      : { maxCommandsPerSecond: 1e9, commandBurst: 1e9, maxMessagesPerSecond: 1e9, maxPendingRequests: 1e9 })
  })
  Control.ready({ port: server.address.port, pid: process.pid, format: "rgb" })
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provide(Model.ConfigInput.empty),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

Effect.runPromise(program).catch((error) => {
  process.stderr.write(`runtime server failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
