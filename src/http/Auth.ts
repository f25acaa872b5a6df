/**
 * The optional bearer token. When the server has one, every request needs `Authorization: Bearer <token>`, or
 * `?token=<token>` (browsers cannot give a WebSocket or a page navigation headers). A session's own sockets also take
 * its ticket (`ticket`): a credential for that one session, derived from the token, that a coordinator hands its
 * clients instead of the token itself.
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import * as HttpError from "./HttpError.js"

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * The ticket of one session: HMAC-SHA256 of its id keyed by the server's token (base64url). Whoever knows the token
 * (a coordinator started with the runners' token) can make it; it opens that session's sockets and nothing else.
 */
export const ticket = (token: string, sessionId: string): string =>
  createHmac("sha256", token).update(`reactor-session-ticket:${sessionId}`).digest("base64url")

/**
 * Checks a request's credentials; `undefined` when it may proceed. With `sessionId` (a session's socket), the
 * session's ticket is accepted in place of the token.
 */
export const check = (
  token: string | undefined,
  authorization: string | undefined,
  query: URLSearchParams,
  sessionId?: string
): HttpError.HttpError | undefined => {
  if (token === undefined) return undefined
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim()
  const given = bearer ?? query.get("token") ?? undefined
  if (given !== undefined && sameToken(given, token)) return undefined
  if (given !== undefined && sessionId !== undefined && sameToken(given, ticket(token, sessionId))) return undefined
  return HttpError.make(
    401,
    "unauthorized",
    given === undefined
      ? "this server needs a token: send Authorization: Bearer <token> (or ?token=<token> on a WebSocket)"
      : "the token is wrong"
  )
}
