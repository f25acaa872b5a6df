/**
 * The runners' entry points for model files: `runIfMain(import.meta, model)` at the bottom of a model module makes
 * the file runnable by itself (`npx tsx examples/01-prompt.ts --runtime headless`).
 */
import type { Layer } from "effect"
import { realpathSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { isMainThread } from "node:worker_threads"
import type * as Model from "../model/Model.js"

const realpath = (path: string): string | undefined => {
  try {
    return realpathSync(path)
  } catch {
    return undefined
  }
}

/** Whether `meta` is the module this process was started with. */
export const isMain = (meta: ImportMeta): boolean => {
  const entry = process.argv[1]
  // A model host's worker thread imports the module too, with the same argv: it is never the entry there.
  if (!isMainThread || entry === undefined || !meta.url.startsWith("file:")) return false
  const self = realpath(fileURLToPath(meta.url))
  return self !== undefined && self === realpath(entry)
}

/**
 * Runs the model with the command line of this process, as `reactor run <this file> ...args`, when `meta` is the
 * entry module; does nothing when the file is imported (by the `reactor` command, a server or a test).
 */
export const runIfMain = (meta: ImportMeta, model: Layer.Layer<Model.Model, unknown, Model.ConfigInput>): void => {
  if (!isMain(meta)) return
  const module = fileURLToPath(meta.url)
  // Loaded lazily: importing a model module must not pull in the CLI.
  void import("./Cli.js").then((Cli) => Cli.runMain(["run", module, ...process.argv.slice(2)], { module, model }))
}
