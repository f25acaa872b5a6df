/**
 * Uploaded files as a model sees them (Reactor's `UploadedFile`): a command parameter declared with `Param.file` is
 * handed to its handler as the file's name, media type and bytes. A client uploads the bytes first
 * (`POST /sessions/{id}/uploads`, then a `PUT`), then names the upload in the command's `uploads` section; the runtime
 * resolves the reference before the handler runs, so a handler never sees an upload id.
 */
import { Arbitrary, FastCheck, Schema } from "effect"

/** An uploaded file: what a handler of a `Param.file` parameter receives. */
export interface UploadedFile {
  /** The file's name as the client gave it (untrusted: never use it as a path). */
  readonly name: string
  /** The media type the client declared, checked against the parameter's `accept` list. */
  readonly mimeType: string
  /** The file's bytes. */
  readonly bytes: Uint8Array
}

/** Options of `Param.file`. */
export interface FileOptions {
  readonly description?: string
  /**
   * The media types the parameter takes: exact (`image/png`) or a family (`image/*`). Default: any type. Uploads are
   * refused at once (`upload_type_not_allowed`) when no file parameter of the model takes their type.
   */
  readonly accept?: ReadonlyArray<string>
  /** The largest file the parameter takes, in bytes; the server's `maxUploadBytes` applies in any case. */
  readonly maxBytes?: number
}

/** The JSON Schema `format` Reactor gives an upload reference; capabilities carry it for a file parameter. */
export const format = "reactor-upload-reference"

/** Whether a media type is one of `accept` (exact, or a `family/*`); an empty or absent list takes any type. */
export const accepts = (accept: ReadonlyArray<string> | undefined, mimeType: string): boolean => {
  if (accept === undefined || accept.length === 0) return true
  const type = mimeType.toLowerCase().split(";")[0]!.trim()
  return accept.some((pattern) => {
    const p = pattern.toLowerCase()
    return p === "*/*" || p === type || (p.endsWith("/*") && type.startsWith(p.slice(0, -1)))
  })
}

const isUploadedFile = (u: unknown): u is UploadedFile =>
  typeof u === "object" && u !== null && typeof (u as UploadedFile).name === "string" &&
  typeof (u as UploadedFile).mimeType === "string" && (u as UploadedFile).bytes instanceof Uint8Array

/** Why a value is not an acceptable file for these options, or `undefined`. */
export const check = (options: FileOptions, u: unknown): string | undefined => {
  if (!isUploadedFile(u)) {
    return "an uploaded file: upload it (POST /sessions/{id}/uploads, then PUT the bytes) and name it in the " +
      "command's \"uploads\" section"
  }
  if (!accepts(options.accept, u.mimeType)) {
    return `a file of type ${options.accept!.join(", ")}, got ${JSON.stringify(u.mimeType)}`
  }
  if (options.maxBytes !== undefined && u.bytes.byteLength > options.maxBytes) {
    return `a file of at most ${options.maxBytes} bytes, got ${u.bytes.byteLength}`
  }
  return undefined
}

/** The JSON Schema of a file parameter: Reactor's upload reference, with our `accept` and `maxBytes` added. */
export const jsonSchema = (options: FileOptions): Record<string, unknown> => ({
  type: "object",
  format,
  description: options.description ?? "Reference to a file uploaded via the Reactor upload protocol.",
  properties: {
    upload_id: { type: "string" },
    name: { type: "string" },
    mime_type: { type: "string" },
    size: { type: "integer" }
  },
  required: ["upload_id", "name", "mime_type", "size"],
  ...(options.accept !== undefined ? { accept: [...options.accept] } : {}),
  ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {})
})

/** A concrete type of `accept` for generated files (`image/*` becomes `image/png`). */
const sampleType = (accept: ReadonlyArray<string> | undefined) => {
  const first = accept?.[0]
  if (first === undefined || first === "*/*") return "application/octet-stream"
  return first.endsWith("/*") ? `${first.slice(0, -2)}/png` : first
}

/**
 * The schema of a file parameter: it decodes only a resolved `UploadedFile` that fits `options` (a value written in
 * the command's `data` is refused, naming the `uploads` section), and shows as Reactor's upload reference in
 * capabilities.
 */
export const schema = (options: FileOptions = {}): Schema.Schema<UploadedFile> => {
  const expected = `an uploaded file${options.accept !== undefined ? ` (${options.accept.join(", ")})` : ""}`
  return Schema.declare((u): u is UploadedFile => check(options, u) === undefined, {
    identifier: "UploadedFile",
    description: options.description ?? expected,
    message: (issue) => `Expected ${check(options, issue.actual) ?? expected}`,
    jsonSchema: jsonSchema(options),
    arbitrary: (): Arbitrary.LazyArbitrary<UploadedFile> => (fc: typeof FastCheck) =>
      fc.record({
        name: fc.constant("file"),
        mimeType: fc.constant(sampleType(options.accept)),
        bytes: fc.uint8Array({ minLength: 1, maxLength: Math.min(64, options.maxBytes ?? 64) })
      })
  })
}

/** The file options of a parameter's JSON Schema, when it is a file parameter (capabilities carry them). */
export const optionsOf = (json: Record<string, unknown>): FileOptions | undefined => {
  if (json.format !== format) return undefined
  return {
    ...(Array.isArray(json.accept) ? { accept: json.accept.filter((a): a is string => typeof a === "string") } : {}),
    ...(typeof json.maxBytes === "number" ? { maxBytes: json.maxBytes } : {})
  }
}
