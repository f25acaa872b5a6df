/**
 * The server of bench/neural.ts: example 06 (or its copy variant, `BackgroundCopy.ts`) served in one worker thread as
 * `reactor run` serves it, with the batch limits of the job: `node --import tsx bench/servers/neural.ts '<job json>'`;
 * prints `{port, pid, format}` once listening. Per-connection budgets lifted as in runtime.ts.
 */
import { Effect, Logger, LogLevel } from "effect"
import { fileURLToPath } from "node:url"
import * as Model from "../../src/model/Model.js"
import * as Server from "../../src/server/Server.js"
import * as Control from "./Control.js"

/** What the benchmark asks of the server. */
export interface NeuralJob {
  readonly network: "onnx" | "copy"
  readonly maxBatch: number
  readonly maxWaitMs: number
}

const job = JSON.parse(process.argv[2] ?? "{}") as NeuralJob
const module = job.network === "onnx"
  ? fileURLToPath(new URL("../../examples/06-background.ts", import.meta.url))
  : fileURLToPath(new URL("./BackgroundCopy.ts", import.meta.url))

const program = Effect.gen(function*() {
  const server = yield* Server.start({ _tag: "Worker", module, workers: 1 }, {
    host: "127.0.0.1",
    port: 0,
    maxSessions: 64,
    idleTimeoutMs: 60 * 60_000,
    maxCommandsPerSecond: 1e9,
    commandBurst: 1e9,
    maxMessagesPerSecond: 1e9,
    maxPendingRequests: 1e9
  })
  Control.ready({ port: server.address.port, pid: process.pid, format: "rgb" })
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provideService(Model.ConfigInput, {
    source: "bench",
    value: { maxBatch: job.maxBatch, maxWaitMs: job.maxWaitMs }
  }),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

Effect.runPromise(program).catch((error) => {
  process.stderr.write(`neural server failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
