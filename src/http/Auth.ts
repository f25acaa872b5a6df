/**
 * The optional bearer token. When the server has one, every request needs `Authorization: Bearer <token>`, or
 * `?token=<token>` (browsers cannot give a WebSocket or a page navigation headers).
 */
import { timingSafeEqual } from "node:crypto"
import * as HttpError from "./HttpError.js"

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Checks a request's credentials; `undefined` when it may proceed. */
export const check = (
  token: string | undefined,
  authorization: string | undefined,
  query: URLSearchParams
): HttpError.HttpError | undefined => {
  if (token === undefined) return undefined
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim()
  const given = bearer ?? query.get("token") ?? undefined
  if (given !== undefined && sameToken(given, token)) return undefined
  return HttpError.make(
    401,
    "unauthorized",
    given === undefined
      ? "this server needs a token: send Authorization: Bearer <token> (or ?token=<token> on a WebSocket)"
      : "the token is wrong"
  )
}
