/**
 * An example model (`examples/`) served as `reactor run <example>` serves it: the model in a worker thread, the
 * model's default config and the server's default settings (one session, default budgets). Run as a subprocess by
 * the examples benchmark: `node --import tsx bench/servers/example.ts '{"module":"examples/01-prompt.ts"}'`; prints
 * `{port, pid, format}` once listening. Logs below Warning are off, as for the other bench servers.
 */
import { Effect, Logger, LogLevel } from "effect"
import * as path from "node:path"
import * as Model from "../../src/model/Model.js"
import * as Server from "../../src/server/Server.js"
import * as Control from "./Control.js"

/** Which example to serve: its path from the repository's root. */
export interface Example {
  readonly module: string
}

const { module } = JSON.parse(process.argv[2] ?? "{}") as Example

const program = Effect.gen(function*() {
  const server = yield* Server.start(
    { _tag: "Worker", module: path.resolve(module), workers: 1 },
    { host: "127.0.0.1", port: 0 }
  )
  // The WebSocket transport's default frame format (JPEG) is what a viewer gets: `format` names it for the notes.
  Control.ready({ port: server.address.port, pid: process.pid, format: "jpeg" })
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provide(Model.ConfigInput.empty),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

Effect.runPromise(program).catch((error) => {
  process.stderr.write(`example server failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
