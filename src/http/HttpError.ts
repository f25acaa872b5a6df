/**
 * Errors an HTTP client can cause, with their status: `{code, message, ...details}` as the body.
 */
import { HttpServerResponse } from "@effect/platform"
import { Schema } from "effect"
import * as WireError from "../protocol/WireError.js"

/** An HTTP error answer. */
export class HttpError extends Schema.TaggedError<HttpError>()("HttpError", {
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
}) {
  /** The wire body. */
  get body(): Record<string, unknown> {
    return WireError.toWire(this)
  }
}

/** Builds an HTTP error. */
export const make = (status: number, code: string, message: string, details?: Record<string, unknown>) =>
  new HttpError(details === undefined ? { status, code, message } : { status, code, message, details })

/** The response of an HTTP error. */
export const toResponse = (error: HttpError) => HttpServerResponse.unsafeJson(error.body, { status: error.status })

export const notFound = (what: string) => make(404, "not_found", `no such resource: ${what}`)

export const sessionNotFound = (id: string) =>
  make(404, "session_not_found", `no session ${JSON.stringify(id)}: it never existed or has ended`, { session_id: id })

export const invalidRequest = (message: string, details?: Record<string, unknown>) =>
  make(400, "invalid_request", message, details)
