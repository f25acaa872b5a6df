/**
 * Which transport a new session is served over. A client lists what it speaks in `start_session`'s
 * `supported_transports` (Reactor's `CreateSessionRequest`); the first one the server also speaks wins, in the
 * client's order. A client that lists none is Reactor's official SDK in local mode (it sends `{}` and connects only
 * over WebRTC), so it gets WebRTC.
 */
import { Either, ParseResult, Schema } from "effect"

/** A transport the server speaks. */
export type Protocol = "webrtc" | "websocket" | "rpc"

/** The transports in the server's order, with the version each speaks. */
export const versions: Readonly<Record<Protocol, string>> = { webrtc: "1.0", websocket: "1", rpc: "1" }

/** The transports this server runs, in its order of preference. */
export const offered: ReadonlyArray<Protocol> = ["webrtc", "websocket", "rpc"]

/** What a client declares: Reactor's `TransportDeclaration`, the version optional for our own clients. */
const Declared = Schema.Struct({
  protocol: Schema.String.pipe(Schema.maxLength(64)),
  version: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(32)), { exact: true })
})

const Supported = Schema.Array(Declared).pipe(Schema.maxItems(16))
const decodeSupported = Schema.decodeUnknownEither(Supported, { errors: "all" })

/** What went wrong with a declaration, worded for the client. */
export interface Refusal {
  readonly code: "invalid_request" | "no_common_transport"
  readonly message: string
}

const isProtocol = (name: string, offered: ReadonlyArray<Protocol>): name is Protocol =>
  (offered as ReadonlyArray<string>).includes(name)

/**
 * Chooses the transport for a `start_session` body's `supported_transports` (untrusted). `offered` is what this
 * server runs, in its order of preference.
 */
export const select = (supported: unknown, offered: ReadonlyArray<Protocol>): Either.Either<Protocol, Refusal> => {
  if (supported === undefined) {
    return offered.includes("webrtc")
      ? Either.right("webrtc")
      : Either.left({
        code: "no_common_transport",
        message: `this server does not run WebRTC; it speaks ${offered.join(", ")}: list one in supported_transports`
      })
  }
  const decoded = decodeSupported(supported)
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
      .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`))
    return Either.left({
      code: "invalid_request",
      message: `supported_transports must be a list of {protocol, version}: ${issues.join("; ")}`
    })
  }
  const chosen = decoded.right.find((declared) => isProtocol(declared.protocol, offered))
  if (chosen === undefined) {
    const asked = decoded.right.map((declared) => declared.protocol)
    return Either.left({
      code: "no_common_transport",
      message: `none of the client's transports (${
        asked.length === 0 ? "none listed" : asked.join(", ")
      }) is spoken here; this server speaks ${offered.join(", ")}`
    })
  }
  return Either.right(chosen.protocol as Protocol)
}
