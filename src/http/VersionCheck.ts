/**
 * Checks Reactor's version headers on a request: an older client is answered 426, a newer one 501, each with a
 * readable reason.
 */
import * as ApiVersion from "../protocol/ApiVersion.js"
import * as HttpError from "./HttpError.js"

/** Checks the version headers; `undefined` when the request may proceed. */
export const check = (requestHeaders: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  for (const name of ApiVersion.headers) {
    const raw = requestHeaders[name]
    if (raw === undefined) continue
    const value = Array.isArray(raw) ? raw[0] : raw
    const version = Number(String(value).trim())
    if (String(value).trim() === "" || !Number.isInteger(version)) {
      return HttpError.make(
        400,
        "invalid_request",
        `header ${name} must be an integer version, got ${JSON.stringify(value)}`
      )
    }
    if (version < ApiVersion.current) {
      return HttpError.make(
        426,
        "client_too_old",
        `the client speaks protocol version ${version} but this server needs version ${ApiVersion.current}; upgrade the client`,
        { server_version: ApiVersion.current, client_version: version }
      )
    }
    if (version > ApiVersion.current) {
      return HttpError.make(
        501,
        "server_too_old",
        `the client speaks protocol version ${version} but this server only speaks version ${ApiVersion.current}; upgrade the server`,
        { server_version: ApiVersion.current, client_version: version }
      )
    }
  }
  return undefined
}
