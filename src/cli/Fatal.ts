/**
 * Errors that end the `reactor` command: each becomes one line on stderr (`reactor: ...`) and a non-zero exit, with no
 * stack trace. A stack trace is kept for defects only, which are bugs.
 */
import { Data } from "effect"
import type * as Overrides from "../config/Overrides.js"
import * as Model from "../model/Model.js"

/** The command failed; `message` is the line printed. */
export class Fatal extends Data.TaggedError("Fatal")<{ readonly message: string }> {}

/** The command has already said why it failed (a usage error printed with the help text). */
export class Reported extends Data.TaggedError("Reported")<{}> {}

const flatten = (text: string) => text.split("\n").map((line) => line.trim()).filter((line) => line !== "").join(" ")

/** Renders a config error on one line; a key that came from an override says so. */
export const describeConfigError = (
  error: Model.ConfigError,
  overrides: ReadonlyArray<Overrides.Override> = []
): string => {
  const fromOverride = new Set(overrides.map((override) => override.path.join(".")))
  const issues = error.issues.map((issue) => {
    const path = issue.path === "" ? "(root)" : issue.path
    const origin = fromOverride.has(issue.path) ? ` (from --model.${issue.path})` : ""
    return `${path}${origin}: ${flatten(issue.message)}`
  })
  return `invalid config (${error.source}): ${issues.join("; ")}`
}

/** The one line an error gets. */
export const describe = (error: unknown, overrides: ReadonlyArray<Overrides.Override> = []): string => {
  if (error instanceof Model.ConfigError) return describeConfigError(error, overrides)
  if (error instanceof Error) return flatten(error.message)
  if (typeof error === "object" && error !== null && "message" in error) return flatten(String(error.message))
  return flatten(String(error))
}
