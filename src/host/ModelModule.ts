/**
 * A model module: a file whose default export, or named export `model`, is the layer `Model.make` returned. Loading
 * one fails with a one-line `ModelModuleError` when the file is missing, does not load, or exports no model.
 */
import { Data, Effect, Layer } from "effect"
import { existsSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type * as Model from "../model/Model.js"

/** The model layer of a module. */
export type ModelLayer = Layer.Layer<Model.Model, unknown, Model.ConfigInput>

/** The module cannot give a model. */
export class ModelModuleError
  extends Data.TaggedError("ModelModuleError")<{ readonly module: string; readonly reason: string }>
{
  override get message() {
    return `model module ${this.module}: ${this.reason}`
  }
}

/** The gist of a load error on one line: its first line, plus the next when the first only introduces it. */
const firstLine = (error: unknown) => {
  const lines = (error instanceof Error ? error.message : String(error)).split("\n").map((line) => line.trim())
    .filter((line) => line !== "")
  const [first = "unknown error", second] = lines
  return first.endsWith(":") && second !== undefined ? `${first} ${second}` : first
}

/** Picks the model layer out of a module's exports: `default` first, then `model`. */
export const fromExports = (
  module: string,
  exports: Record<string, unknown>
): Effect.Effect<ModelLayer, ModelModuleError> => {
  const candidate = Layer.isLayer(exports.default) ? exports.default : exports.model
  if (Layer.isLayer(candidate)) return Effect.succeed(candidate as ModelLayer)
  const found = Object.keys(exports).filter((key) => key !== "__esModule")
  return Effect.fail(
    new ModelModuleError({
      module,
      reason: "exports no model: export the layer made by Model.make as the default export or as `model`" +
        (found.length > 0 ? ` (it exports: ${found.join(", ")})` : "")
    })
  )
}

/** Imports a module by path (relative to the working directory) and returns its model layer. */
export const load = (module: string): Effect.Effect<ModelLayer, ModelModuleError> =>
  Effect.gen(function*() {
    const path = resolve(module)
    if (!existsSync(path) || !statSync(path).isFile()) {
      return yield* new ModelModuleError({ module, reason: "no such file" })
    }
    const exports = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
      catch: (error) => new ModelModuleError({ module, reason: `cannot load it: ${firstLine(error)}` })
    })
    return yield* fromExports(module, exports)
  })
