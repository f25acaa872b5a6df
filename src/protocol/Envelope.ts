/**
 * Reactor's message envelope, as schemas: what a client may send over the WebSocket, decoded once at the edge into a
 * `ClientMessage`, and the constructors of everything the runtime sends back. Malformed input becomes a `WireError`
 * with a specific code; it never throws.
 */
import { Either, ParseResult, Schema } from "effect"
import { make as wireError, WireError } from "./WireError.js"

/** Longest string command id: ids are echoed in every answer. */
export const maxIdLength = 256

/** A command id chosen by the client, echoed in its ack and errors: a short string or a finite number. */
export const CommandId = Schema.Union(
  Schema.String.pipe(Schema.maxLength(maxIdLength)),
  Schema.Number.pipe(
    Schema.finite({ message: () => "an id must be a finite number (JSON has no Infinity) or a string" })
  )
)

/** A reference to an uploaded file in a command's `uploads` section (the SDK's `FileRef` on the wire). */
export const UploadReference = Schema.Struct({
  upload_id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  name: Schema.optionalWith(Schema.String, { exact: true }),
  mime_type: Schema.optionalWith(Schema.String, { exact: true }),
  size: Schema.optionalWith(Schema.Number, { exact: true })
})

/** A command's `uploads` section: parameter name -> upload reference. */
export const Uploads = Schema.Record({ key: Schema.String.pipe(Schema.maxLength(256)), value: UploadReference }).pipe(
  Schema.filter((uploads) => Object.keys(uploads).length <= 16 || "a command names at most 16 uploads")
)

/** The inner message of an envelope: `{type, data?, id?, uploads?}`. */
export const Inner = Schema.Struct({
  type: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  data: Schema.optionalWith(Schema.Unknown, { exact: true }),
  id: Schema.optionalWith(CommandId, { exact: true }),
  uploads: Schema.optionalWith(Uploads, { exact: true })
})

/** Reactor's envelope. `scope` may be absent: the message is then an application message. */
export const Envelope = Schema.Struct({
  scope: Schema.optionalWith(Schema.Literal("application", "runtime"), { exact: true }),
  data: Inner
})

/** A decoded client message. */
export type ClientMessage =
  | {
    readonly _tag: "Command"
    readonly type: string
    readonly data: unknown
    readonly id?: string | number
    /** Parameter name -> upload id: files the runtime resolves into `data` before the command is applied. */
    readonly uploads?: Readonly<Record<string, string>>
  }
  | { readonly _tag: "Ping" }
  | { readonly _tag: "FileUploaded"; readonly uploadId: string }
  /** Reactor's `requestClip` (the last `durationSeconds` of the recording) and `requestRecording` (all of it). */
  | { readonly _tag: "RequestClip"; readonly durationSeconds: number | undefined }
  | { readonly _tag: "RequestCapabilities" }
  | { readonly _tag: "Stop" }

const decodeEnvelope = Schema.decodeUnknownEither(Envelope, { errors: "all" })
const decodeInner = Schema.decodeUnknownEither(Inner, { errors: "all" })

const issuesOf = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message
  }))

const invalid = (error: ParseResult.ParseError, what: string) => {
  const issues = issuesOf(error)
  return wireError(
    "invalid_envelope",
    `${what}: ` +
      issues.map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`)).join("; "),
    { issues }
  )
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The common case, checked by hand: an application command `{scope: "application", data: {type, data?, id?}}` that
 * is valid. Anything else (`undefined`) goes through the schemas, which also word every error. The result is the
 * one the schemas give; this only skips their allocations on the hot path (one decode per command).
 */
const decodeCommandFast = (value: unknown): ClientMessage | undefined => {
  if (!isRecord(value) || value.scope !== "application") return undefined
  const inner = value.data
  if (!isRecord(inner)) return undefined
  const type = inner.type
  if (typeof type !== "string" || type.length < 1 || type.length > 256) return undefined
  // A command with uploads (or anything unusual in them) takes the schemas' path.
  if ("uploads" in inner) return undefined
  const hasId = "id" in inner
  const id = inner.id
  if (hasId && !(typeof id === "string" ? id.length <= maxIdLength : typeof id === "number" && Number.isFinite(id))) {
    return undefined
  }
  return hasId
    ? { _tag: "Command", type, data: inner.data, id: id as string | number }
    : { _tag: "Command", type, data: inner.data }
}

/** Runtime message types a client may send. */
export const runtimeTypes = [
  "ping",
  "requestCapabilities",
  "stop",
  "fileUploaded",
  "requestClip",
  "requestRecording"
] as const

const RequestClipData = Schema.Struct({ duration_seconds: Schema.Number.pipe(Schema.finite(), Schema.positive()) })
const decodeRequestClip = Schema.decodeUnknownEither(RequestClipData, { errors: "all" })

const FileUploadedData = Schema.Struct({ upload_id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)) })
const decodeFileUploaded = Schema.decodeUnknownEither(FileUploadedData, { errors: "all" })

/**
 * Decodes a parsed JSON value. `{scope, data: {type, data, id}}` is an envelope; an object with no `scope` is taken
 * as an application message, either enveloped (`{data: {type, ...}}`) or bare (`{type, data, id}`).
 */
export const decodeValue = (value: unknown): Either.Either<ClientMessage, WireError> => {
  const fast = decodeCommandFast(value)
  if (fast !== undefined) return Either.right(fast)
  if (!isRecord(value)) {
    return Either.left(
      wireError("invalid_envelope", "a message must be a JSON object {scope, data: {type, data, id?}}")
    )
  }
  const enveloped = "scope" in value || (!("type" in value) && isRecord(value.data))
  const decoded = enveloped
    ? Either.mapLeft(decodeEnvelope(value), (error) => invalid(error, "not a valid envelope"))
    : Either.map(
      Either.mapLeft(decodeInner(value), (error) => invalid(error, "not a valid message")),
      (data) => ({ data })
    )
  return Either.flatMap(decoded, (envelope): Either.Either<ClientMessage, WireError> => {
    const { data: inner } = envelope
    const scope = "scope" in envelope && envelope.scope !== undefined ? envelope.scope : "application"
    if (scope === "application") {
      return Either.right({
        _tag: "Command",
        type: inner.type,
        data: inner.data,
        ...(inner.id !== undefined ? { id: inner.id } : {}),
        ...(inner.uploads !== undefined && Object.keys(inner.uploads).length > 0
          ? {
            uploads: Object.fromEntries(
              Object.entries(inner.uploads).map(([param, reference]) => [param, reference.upload_id])
            )
          }
          : {})
      })
    }
    switch (inner.type) {
      case "ping":
        return Either.right({ _tag: "Ping" })
      case "requestCapabilities":
        return Either.right({ _tag: "RequestCapabilities" })
      case "stop":
        return Either.right({ _tag: "Stop" })
      case "fileUploaded":
        return Either.map(
          Either.mapLeft(decodeFileUploaded(inner.data), (error) => invalid(error, "not a valid fileUploaded")),
          (data): ClientMessage => ({ _tag: "FileUploaded", uploadId: data.upload_id })
        )
      case "requestClip":
        return Either.map(
          Either.mapLeft(decodeRequestClip(inner.data), (error) => invalid(error, "not a valid requestClip")),
          (data): ClientMessage => ({ _tag: "RequestClip", durationSeconds: data.duration_seconds })
        )
      case "requestRecording":
        return Either.right({ _tag: "RequestClip", durationSeconds: undefined })
      default:
        return Either.left(
          wireError(
            "invalid_envelope",
            `unknown runtime message ${JSON.stringify(inner.type)}; runtime messages are ${runtimeTypes.join(", ")}`,
            { known: runtimeTypes }
          )
        )
    }
  })
}

/** Default nesting limit of `decodeText`. */
export const defaultMaxDepth = 32

/**
 * Whether a JSON text nests arrays and objects deeper than `limit`, outside strings: checked before parsing, so a
 * pathological message (`[[[[...]]]]`) never reaches code that recurses over it (parsing, validation, formatting).
 */
export const textTooDeep = (text: string, limit: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > limit) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

/** Whether a decoded value nests arrays and objects deeper than `limit` (values that arrive already decoded: RPC). */
export const valueTooDeep = (value: unknown, limit: number): boolean => {
  const walk = (u: unknown, depth: number): boolean => {
    if (typeof u !== "object" || u === null || ArrayBuffer.isView(u)) return false
    if (depth >= limit) return true
    if (Array.isArray(u)) {
      for (let i = 0; i < u.length; i++) if (walk(u[i], depth + 1)) return true
    } else {
      for (const key in u) if (walk((u as Record<string, unknown>)[key], depth + 1)) return true
    }
    return false
  }
  return walk(value, 0)
}

/** The error of a message nested deeper than `limit`; the command's id and type when `message` shows them. */
export const tooDeep = (limit: number, message?: unknown) => {
  const inner = isRecord(message) ? (isRecord(message.data) && "type" in message.data ? message.data : message) : {}
  const id = inner.id
  const type = inner.type
  return wireError("nesting_too_deep", `the message nests arrays or objects more than ${limit} levels deep`, {
    limit,
    ...((typeof id === "string" && id.length <= maxIdLength) || (typeof id === "number" && Number.isFinite(id))
      ? { id }
      : {}),
    ...(typeof type === "string" && type.length <= 256 ? { command: type } : {})
  })
}

/** Decodes one text message: size, nesting, JSON, envelope. `maxBytes` is the 256 KiB message limit. */
export const decodeText = (
  text: string,
  maxBytes: number,
  maxDepth: number = defaultMaxDepth
): Either.Either<ClientMessage, WireError> => {
  const size = Buffer.byteLength(text, "utf8")
  if (size > maxBytes) {
    return Either.left(
      wireError("message_too_large", `the message has ${size} bytes; the limit is ${maxBytes} bytes`, {
        size,
        limit: maxBytes
      })
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(
      wireError(
        "invalid_json",
        `the message is not valid JSON: ${error instanceof Error ? error.message : String(error)}`
      )
    )
  }
  // JSON.parse itself does not recurse; what comes after it (validation, error formatting) does.
  if (valueTooDeep(value, maxDepth)) return Either.left(tooDeep(maxDepth, value))
  return decodeValue(value)
}

/** A runtime-scope message. */
export const runtime = (type: string, data: unknown = {}) => JSON.stringify({ scope: "runtime", data: { type, data } })

/** A model message, forwarded in scope `application`; one without a string `type` is wrapped as `{type:"message"}`. */
export const application = (message: unknown) =>
  JSON.stringify({
    scope: "application",
    data: isRecord(message) && typeof message.type === "string" ? message : { type: "message", data: message }
  })

/** Default size bound of an error reply. */
export const defaultMaxErrorBytes = 4 * 1024

const cut = (text: string, chars: number) => (text.length <= chars ? text : text.slice(0, chars) + "…")

/**
 * Fits an error body into `maxBytes` of JSON: long strings (the message, each issue's message, echoed values) are
 * cut and long issue lists shortened, and `truncated: true` says so. An error reply never grows with the input
 * that caused it.
 */
export const boundError = (body: Record<string, unknown>, maxBytes: number): Record<string, unknown> => {
  if (Buffer.byteLength(JSON.stringify(body) ?? "", "utf8") <= maxBytes) return body
  for (const chars of [Math.floor(maxBytes / 4), 200, 60]) {
    const out: Record<string, unknown> = { truncated: true }
    for (const [key, value] of Object.entries(body)) {
      if (key === "id" || key === "code" || key === "command") out[key] = value
      else if (typeof value === "string") out[key] = cut(value, chars)
      else if (key === "issues" && Array.isArray(value)) {
        out[key] = value.slice(0, 8).map((issue) =>
          isRecord(issue)
            ? { path: cut(String(issue.path ?? ""), 200), message: cut(String(issue.message ?? ""), chars) }
            : issue
        )
        if (value.length > 8) out.issues_omitted = value.length - 8
      } else if (key === "known" && Array.isArray(value)) out[key] = value.slice(0, 50)
      else if (typeof value === "number" || typeof value === "boolean" || value === null) out[key] = value
    }
    if (Buffer.byteLength(JSON.stringify(out), "utf8") <= maxBytes) return out
  }
  return { code: cut(String(body.code ?? "error"), 60), message: cut(String(body.message ?? ""), 200), truncated: true }
}

/** An `error` message, at most `maxBytes` long (see `boundError`). */
export const error = (error: WireError | Record<string, unknown>, maxBytes: number = defaultMaxErrorBytes) =>
  runtime("error", boundError(error instanceof WireError ? error.toWire() : error, maxBytes))
