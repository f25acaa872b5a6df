/**
 * The HTTP runtime's entry point: `reactor run <module>` serves the model over HTTP + WebSocket until SIGINT/SIGTERM,
 * then stops every session cooperatively within the stop deadline and releases the model.
 */
import { Layer } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import type * as Isolation from "../host/Isolation.js"
import * as Server from "./Server.js"

/** Settings of the HTTP runtime, from the CLI and the config file's `server:` section: a partial of `ServerConfig`. */
export type Options = ServerConfig.Input

/**
 * Serves the model until interrupted (SIGINT/SIGTERM), then stops every session cooperatively. Settings not given
 * in `options` come from the environment (`ServerConfig.layerFromEnv`, e.g. `REACTOR_GRACE_MS`), then the defaults.
 */
export const run = (isolation: Isolation.Isolation, options: Options = {}) =>
  Layer.launch(
    Server.layerFrom(Server.isolated(isolation)).pipe(Layer.provide(ServerConfig.layerFromEnv(options)))
  )
