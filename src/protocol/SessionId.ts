/**
 * A session's id: 16 random bytes in base64url, made by the runtime when a session starts. Branded so that a plain
 * string (a command name, a track name, a path segment not yet looked up) cannot be passed where a session id is
 * meant; what arrives from a client (a URL path, a `session_id` field) is turned into one with `fromClient`, which
 * refuses what no session id can be, so a lookup with it answers `session_not_found` and nothing else.
 */
import { Option, Schema } from "effect"

/** The schema of a session id: 1 to 128 characters of `A-Z a-z 0-9 _ -` (base64url and the ids tests choose). */
export const SessionId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,128}$/),
  Schema.brand("SessionId"),
  Schema.annotations({ identifier: "SessionId", description: "a session's id" })
)
export type SessionId = typeof SessionId.Type

const bytes = 16

/** A fresh random id (128 bits, base64url). */
export const make = (): SessionId => {
  const raw = new Uint8Array(bytes)
  globalThis.crypto.getRandomValues(raw)
  return Buffer.from(raw).toString("base64url") as SessionId
}

/** An id as a client sent it, or `None` when no session could have it (so there is nothing to look up). */
export const fromClient: (raw: string) => Option.Option<SessionId> = Schema.decodeUnknownOption(SessionId)
