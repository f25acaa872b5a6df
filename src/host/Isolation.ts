/**
 * Where a model's sessions run. `Worker` (what `reactor run` does by default): in worker threads, apart from the
 * server, so that no model, however it behaves, freezes the server or outlives its stop deadline. `None`: in the
 * server's own thread (embedding, tests): cheaper by one thread hop, but a model that blocks the thread blocks every
 * socket, and a stop that overruns its deadline leaves the loop running.
 */
import { Effect, Layer } from "effect"
import * as Model from "../model/Model.js"
import * as Reactor from "../session/Reactor.js"
import * as PythonReactor from "./python/PythonReactor.js"
import * as WorkerReactor from "./WorkerReactor.js"

/** Where the sessions run. */
export type Isolation =
  | {
    readonly _tag: "Worker"
    readonly module: string
    readonly workers?: number | undefined
    /** Each worker thread's heap limit in MB (`ModelHost.heapMbDefault` by default). */
    readonly heapMb?: number | undefined
  }
  | { readonly _tag: "None"; readonly model: Layer.Layer<Model.Model, unknown, Model.ConfigInput> }
  /** A Python model file (Reactor's Python API), in Python processes of its own (`PythonReactor`). */
  | {
    readonly _tag: "Python"
    readonly module: string
    readonly python?: string | undefined
    readonly workers?: number | undefined
  }

/** The reactor for an isolation: the model's config comes from `Model.ConfigInput` either way. */
export const reactor = (
  isolation: Isolation,
  options: Reactor.Options
): Layer.Layer<Reactor.Reactor, unknown, Model.ConfigInput> =>
  isolation._tag === "None"
    ? Reactor.layer(options).pipe(Layer.provide(isolation.model))
    : Layer.unwrapEffect(Effect.map(Model.ConfigInput, (input): Layer.Layer<Reactor.Reactor, unknown> => {
      const config = {
        source: input.source,
        value: input.value,
        ...(input.overrides ? { overrides: input.overrides } : {})
      }
      return isolation._tag === "Python"
        ? PythonReactor.layer({
          ...options,
          module: isolation.module,
          python: isolation.python,
          workers: isolation.workers,
          config
        })
        : WorkerReactor.layer({
          ...options,
          module: isolation.module,
          workers: isolation.workers,
          workerHeapMb: isolation.heapMb,
          config
        })
    }))
