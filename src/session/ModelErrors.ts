/**
 * What a client learns of a model's own error text (a failing handler, a failing loop or set-up, a crashed worker).
 * The text may hold anything the model put in it (a path, a key, a prompt), so it reaches clients only when the server
 * says so (`exposeModelErrors`: on by default for a server bound to loopback, off otherwise). Otherwise the client
 * gets a generic text with an error reference, and the full text goes to the server log under the same reference.
 * Either way the server log has the full text.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"

/** A fresh error reference: short, unguessable, easy to search for in a log. */
export const makeRef = (): string => randomBytes(6).toString("hex")

/**
 * The text a client gets for a model's error `detail` behind `what` (e.g. `the handler of "x" failed`): `what: detail`
 * when `expose`, else `what` with an error reference, the full text logged under it.
 */
export const report = (expose: boolean, what: string, detail: string): Effect.Effect<string> => {
  if (expose) return Effect.succeed(`${what}: ${detail}`)
  const ref = makeRef()
  return Effect.as(
    Effect.logError(`${what} (error ref ${ref}): ${detail}`),
    `${what} (error ref ${ref}: the details are in the server log)`
  )
}
