/**
 * The HTTP runtime's entry point: `reactor run <module>` serves the model over HTTP + WebSocket until SIGINT/SIGTERM,
 * then stops every session cooperatively within the stop deadline and releases the model.
 */
import { Effect, Layer } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import type * as Isolation from "../host/Isolation.js"
import type * as Model from "../model/Model.js"
import * as Server from "./Server.js"

/** Options of the HTTP runtime, from the CLI and the config's `server` section (see `ServerConfig` for the rest). */
export interface Options extends ServerConfig.Input {
  readonly host: string
  readonly port: number
  readonly maxSessions: number
  readonly token?: string | undefined
}

/**
 * Serves the model until interrupted (SIGINT/SIGTERM), then stops every session cooperatively. Settings not given
 * in `options` may come from the environment (`ServerConfig.fromEnv`, e.g. `REACTOR_GRACE_MS`).
 */
export const run = (
  isolation: Isolation.Isolation,
  options: Options
): Effect.Effect<void, unknown, Model.ConfigInput> =>
  Effect.flatMap(
    ServerConfig.withEnv(options),
    (input) => Layer.launch(Server.layerWith(Server.isolated(isolation), input))
  ).pipe(Effect.asVoid)
