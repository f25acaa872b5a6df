/**
 * The RPC transport's edge decoder: each value a client's msgpack message carried is checked against the shape of
 * `@effect/rpc`'s client messages before the RPC server sees it (the server trusts its input: an id that is not a
 * bigint string threw inside it and wedged the connection). A malformed message becomes a `WireError`
 * `invalid_rpc_message` saying what is wrong, answered on the request's id when it has a usable one, else as a
 * connection-level RPC defect; what passes is rebuilt with only the fields the server reads.
 */
import type { RpcMessage } from "@effect/rpc"
import { Either, ParseResult, Schema } from "effect"
import * as WireError from "../protocol/WireError.js"

/** A request id as `@effect/rpc` writes it: a bigint in decimal, no sign, no leading zero (what the server echoes). */
export const idPattern = /^(?:0|[1-9][0-9]{0,38})$/

/** Headers a request may carry at most (the typed client sends none). */
export const maxHeaders = 64

/** Longest RPC tag (a command name; the same bound as a command `type` on the WebSocket). */
export const maxTagLength = 256

const Id = Schema.String.pipe(
  Schema.pattern(idPattern, {
    message: (issue) =>
      `is not a request id: an id is a decimal integer string of at most 39 digits, like "1" (got ${
        show(issue.actual)
      })`
  })
)

const Header = Schema.Tuple(Schema.String, Schema.String)

const Request = Schema.Struct({
  _tag: Schema.Literal("Request"),
  id: Id,
  tag: Schema.String.pipe(Schema.maxLength(maxTagLength)),
  payload: Schema.optional(Schema.Unknown),
  headers: Schema.Array(Header).pipe(Schema.maxItems(maxHeaders)).annotations({
    message: () => `must be an array of at most ${maxHeaders} [name, value] string pairs`
  })
})

const Ack = Schema.Struct({ _tag: Schema.Literal("Ack"), requestId: Id })
const Interrupt = Schema.Struct({ _tag: Schema.Literal("Interrupt"), requestId: Id })
const Ping = Schema.Struct({ _tag: Schema.Literal("Ping") })

const checker = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.decodeUnknownEither(schema, { errors: "first" }) as (
    u: unknown
  ) => Either.Either<unknown, ParseResult.ParseError>

const byTag = {
  Request: checker(Request),
  Ack: checker(Ack),
  Interrupt: checker(Interrupt),
  Ping: checker(Ping)
} as const

/** The message tags a client may send on this transport (`Eof` is not used: a client leaves by closing). */
export const tags = Object.keys(byTag) as ReadonlyArray<keyof typeof byTag>

/** A value as it may appear in an error message: short, and never the whole of what the client sent. */
const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === "bigint") return `${value}n`
  if (value === null || typeof value !== "object") return String(value)
  return Array.isArray(value) ? "an array" : "a map"
}

const kindOf = (value: unknown): string =>
  value === null
    ? "nil"
    : Array.isArray(value)
    ? "an array"
    : value instanceof Uint8Array
    ? "binary"
    : typeof value === "object"
    ? "a map"
    : `a ${typeof value}`

/** The error of a malformed message. */
export const invalid = (message: string, details?: Record<string, unknown>) =>
  WireError.make("invalid_rpc_message", message, details)

/** What one value of a client's message is. */
export type Decoded =
  | { readonly _tag: "Valid"; readonly message: RpcMessage.FromClientEncoded }
  | {
    readonly _tag: "Invalid"
    /** The request it answers on, when it is a request with a usable id. */
    readonly requestId: string | undefined
    readonly error: WireError.WireError
  }

const refuse = (error: WireError.WireError, requestId?: string): Decoded => ({ _tag: "Invalid", requestId, error })

/** The first issue of a parse error, as `field: message`. */
const describe = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issue === undefined) return "the message is malformed"
  return issue.path.length > 0 ? `"${issue.path.join(".")}" ${issue.message}` : issue.message
}

/**
 * The shape `@effect/rpc`'s own client sends for a request (a map with exactly these fields, no headers): taken as it
 * is, without the schema's allocations. Anything else goes through the schemas.
 */
const isPlainRequest = (value: Record<string, unknown>): boolean => {
  let fields = 0
  for (const key in value) {
    if (key !== "_tag" && key !== "id" && key !== "tag" && key !== "payload" && key !== "headers") return false
    fields++
  }
  const { headers, id, tag } = value
  return (fields === 5 || (fields === 4 && !("payload" in value))) && value._tag === "Request" &&
    typeof id === "string" && idPattern.test(id) && typeof tag === "string" && tag.length <= maxTagLength &&
    Array.isArray(headers) && headers.length === 0
}

/** Checks one value a client sent: a message `@effect/rpc`'s server can take, or why not. */
export const decode = (value: unknown): Decoded => {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return refuse(invalid(
      `an RPC message is a map with a "_tag" (${tags.join(", ")}); got ${kindOf(value)}`
    ))
  }
  if (isPlainRequest(value as Record<string, unknown>)) {
    return { _tag: "Valid", message: value as unknown as RpcMessage.FromClientEncoded }
  }
  const tag = (value as { readonly _tag?: unknown })._tag
  const check = typeof tag === "string" && Object.hasOwn(byTag, tag) ? byTag[tag as keyof typeof byTag] : undefined
  if (check === undefined) {
    return refuse(invalid(`"_tag" must be one of ${tags.join(", ")}; got ${show(tag)}`))
  }
  const decoded = check(value)
  if (Either.isRight(decoded)) return { _tag: "Valid", message: decoded.right as RpcMessage.FromClientEncoded }
  // a request whose own id is usable is answered on it
  const id = (value as { readonly id?: unknown }).id
  const requestId = tag === "Request" && typeof id === "string" && idPattern.test(id) ? id : undefined
  return refuse(invalid(`${tag}: ${describe(decoded.left)}`), requestId)
}

const encodeWireError = Schema.encodeSync(WireError.WireError)
const encoded = new WeakMap<WireError.WireError, unknown>()

/** A wire error's encoded form, made once per error (a flood's refusals share theirs). */
const encodeError = (error: WireError.WireError): unknown => {
  let wire = encoded.get(error)
  if (wire === undefined) {
    wire = encodeWireError(error)
    encoded.set(error, wire)
  }
  return wire
}

/** The answer to one request that failed with a wire error (the form `too_many_requests` has). */
export const failure = (requestId: string, error: WireError.WireError): RpcMessage.FromServerEncoded => ({
  _tag: "Exit",
  requestId,
  exit: { _tag: "Failure", cause: { _tag: "Fail", error: encodeError(error) } }
})

/** A connection-level RPC defect carrying a wire error: for a message that names no request to answer on. */
export const defect = (error: WireError.WireError): RpcMessage.FromServerEncoded => ({
  _tag: "Defect",
  defect: encodeError(error)
})
