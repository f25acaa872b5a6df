/**
 * The runners' entry points for model files. Placeholder until the CLI lands (issue 2).
 */
import type { Layer } from "effect"
import type * as Model from "../model/Model.js"

/**
 * Runs the model with the command line of this process when `meta` is the entry module
 * (`npx tsx examples/01-prompt.ts --runtime headless`); does nothing when the file is imported.
 */
export const runIfMain = (_meta: ImportMeta, _model: Layer.Layer<Model.Model, unknown, Model.ConfigInput>): void => {}
