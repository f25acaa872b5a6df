/**
 * The server of bench/neural.ts: example 06 or 07 (or its copy variant, `BackgroundCopy.ts`, `UpscaleCopy.ts`) served in one worker thread as
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
  /** Example 06 (background replacement, the default) or 07 (super-resolution). */
  readonly example?: "06" | "07"
  readonly network: "onnx" | "copy"
  readonly maxBatch: number
  readonly maxWaitMs: number
}

const job = JSON.parse(process.argv[2] ?? "{}") as NeuralJob
const modules = {
  "06": { onnx: "../../examples/06-background.ts", copy: "./BackgroundCopy.ts" },
  "07": { onnx: "../../examples/07-upscale.ts", copy: "./UpscaleCopy.ts" }
} as const
const module = fileURLToPath(new URL(modules[job.example ?? "06"][job.network], import.meta.url))

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
    value: job.example === "07" ? {} : { maxBatch: job.maxBatch, maxWaitMs: job.maxWaitMs }
  }),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

Effect.runPromise(program).catch((error) => {
  process.stderr.write(`neural server failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
