/**
 * Reactor's version headers: `Reactor-API-Version` / `Reactor-API-Accept-Version`. An older client is answered 426,
 * a newer one 501, each with a readable reason.
 */
import * as HttpError from "./HttpError.js"

/** The protocol version this server speaks. */
export const current = 1

export const headers = ["reactor-api-version", "reactor-api-accept-version"] as const

/** Checks the version headers; `undefined` when the request may proceed. */
export const check = (requestHeaders: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  for (const name of headers) {
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
    if (version < current) {
      return HttpError.make(
        426,
        "client_too_old",
        `the client speaks protocol version ${version} but this server needs version ${current}; upgrade the client`,
        { server_version: current, client_version: version }
      )
    }
    if (version > current) {
      return HttpError.make(
        501,
        "server_too_old",
        `the client speaks protocol version ${version} but this server only speaks version ${current}; upgrade the server`,
        { server_version: current, client_version: version }
      )
    }
  }
  return undefined
}
