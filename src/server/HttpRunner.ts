/**
 * Placeholder: the HTTP runtime is being built (issue 3). `run` serves a model layer over HTTP + WebSocket.
 */
import { Effect, type Layer } from "effect"
import type * as Model from "../model/Model.js"

/** Options of the HTTP runtime, from the CLI and the config's `server` section. */
export interface Options {
  readonly host: string
  readonly port: number
  readonly maxSessions: number
  readonly token?: string | undefined
}

/** Serves the model until interrupted (SIGINT/SIGTERM), then stops every session cooperatively. */
export const run = (
  _model: Layer.Layer<Model.Model, unknown, Model.ConfigInput>,
  _options: Options
): Effect.Effect<void, unknown, Model.ConfigInput> => Effect.dieMessage("the HTTP runtime is not built yet")
