/**
 * The one shape of every error that crosses the wire, whatever raised it (a command, an HTTP request, an input frame, a
 * connection): `{code, message, ...details}`. `toWire` is its one serializer: a command's `CommandError`, an
 * `HttpError`, an `InputError` and a connection's `WireError` all go through it.
 */
import { Schema } from "effect"

/** An error raised by the runtime's edge (a connection, a decoder): a `code`, a human `message`, optional details. */
export class WireError extends Schema.TaggedError<WireError>()("WireError", {
  code: Schema.String,
  message: Schema.String,
  details: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
}) {
  /** The plain wire object. */
  toWire(): Record<string, unknown> {
    return toWire(this)
  }
}

/** Builds a wire error. */
export const make = (code: string, message: string, details?: Record<string, unknown>) =>
  new WireError(details === undefined ? { code, message } : { code, message, details })

/** Anything that can be sent as an error: a `code` and a human `message`, and maybe more fields. */
export interface Coded {
  readonly code: string
  readonly message: string
}

/** Fields of an error object that are not part of its wire shape: its tag, its HTTP status, its details' wrapper. */
const internal = new Set(["_tag", "status", "details", "code", "message"])

/**
 * The wire object of an error: `{code, message}`, then its other own fields (a command's `command`, `issues` or
 * `known`, an input's `track`), then its `details` spread in. The tag and an HTTP status stay out.
 */
export const toWire = (error: Coded): Record<string, unknown> => {
  const out: Record<string, unknown> = { code: error.code, message: error.message }
  for (const [key, value] of Object.entries(error)) if (!internal.has(key)) out[key] = value
  const details = (error as { readonly details?: unknown }).details
  if (typeof details === "object" && details !== null) Object.assign(out, details)
  return out
}
