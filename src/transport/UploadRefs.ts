/**
 * A command's `uploads` section resolved into its `data`: each named parameter must be a file parameter of the command
 * (`Param.file`), each upload this session's, of a type and size the parameter takes; its bytes then replace the
 * reference, so the model's handler receives the file. Every refusal is a `WireError` with its own code.
 */
import { Effect } from "effect"
import * as Capabilities from "../model/Capabilities.js"
import type * as Model from "../model/Model.js"
import * as Upload from "../model/Upload.js"
import * as WireError from "../protocol/WireError.js"
import type * as Uploads from "../session/Uploads.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The command's data with its uploads resolved. A command the model does not declare, or data that is not an object,
 * is left as it is: the mailbox answers those with its own errors.
 */
export const resolve = (options: {
  readonly model: Model.Declared
  readonly store: Uploads.Service | undefined
  readonly sessionId: string
  readonly type: string
  readonly data: unknown
  readonly uploads: Readonly<Record<string, string>>
  readonly waitMs: number
}): Effect.Effect<unknown, WireError.WireError> =>
  Effect.gen(function*() {
    const { data, store, type, uploads } = options
    const command = options.model.capabilities.find((c) => c.name === type)
    if (command === undefined || !(data === undefined || data === null || isRecord(data))) return data
    const files = Capabilities.fileParams(command)
    if (store === undefined) {
      return yield* WireError.make("uploads_unavailable", "this runtime keeps no uploads (no HTTP server)")
    }
    const out: Record<string, unknown> = { ...(isRecord(data) ? data : {}) }
    for (const [param, uploadId] of Object.entries(uploads)) {
      const accepts = files.get(param)
      if (accepts === undefined) {
        return yield* WireError.make(
          "not_a_file_parameter",
          `"${type}" has no file parameter ${JSON.stringify(param.slice(0, 64))}` +
            (files.size === 0 ? "; it takes no files" : `; its file parameters are ${[...files.keys()].join(", ")}`),
          { command: type, param: param.slice(0, 256) }
        )
      }
      const file = yield* store.resolve(options.sessionId, uploadId, options.waitMs)
      if (!Upload.accepts(accepts.accept, file.mimeType)) {
        return yield* WireError.make(
          "upload_wrong_type",
          `"${param}" of "${type}" takes ${accepts.accept!.join(", ")}; the upload is ${file.mimeType}`,
          { command: type, param, mime_type: file.mimeType, accepted: accepts.accept }
        )
      }
      if (accepts.maxBytes !== undefined && file.bytes.byteLength > accepts.maxBytes) {
        return yield* WireError.make(
          "upload_too_large",
          `"${param}" of "${type}" takes files of at most ${accepts.maxBytes} bytes; the upload has ${file.bytes.byteLength}`,
          { command: type, param, size: file.bytes.byteLength, limit: accepts.maxBytes }
        )
      }
      out[param] = file
    }
    return out
  })

/**
 * The media types uploads may have for a model: every type some file parameter of it takes (`undefined` = any, when
 * one takes any; an empty list when the model has no file parameter).
 */
export const acceptedTypes = (model: Model.Declared): ReadonlyArray<string> | undefined => {
  const all: Array<string> = []
  for (const command of model.capabilities) {
    for (const options of Capabilities.fileParams(command).values()) {
      if (options.accept === undefined || options.accept.length === 0) return undefined
      all.push(...options.accept)
    }
  }
  return [...new Set(all)]
}
