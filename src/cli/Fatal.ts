/**
 * Errors that end the `reactor` command: each becomes one line on stderr (`reactor: ...`) and a non-zero exit, with no
 * stack trace. A stack trace is kept for defects only, which are bugs.
 */
import { Data } from "effect"

/** The command failed; `message` is the line printed. */
export class Fatal extends Data.TaggedError("Fatal")<{ readonly message: string }> {}

/** The command has already said why it failed (a usage error printed with the help text). */
export class Reported extends Data.TaggedError("Reported")<{}> {}

export { describe, describeConfigError } from "../model/ErrorText.js"
