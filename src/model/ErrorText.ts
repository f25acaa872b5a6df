/**
 * The one line an error gets where a person reads it (the `reactor` command's stderr, a model host's load failure):
 * no stack trace, no line breaks, and a config key that came from a `--model.*` override says so.
 */
import { ConfigError } from "effect"
import * as Model from "./Model.js"
import type * as Overrides from "./Overrides.js"

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
  // A setting from the environment (`REACTOR_PORT=70000`): the rendering names the variable, the message alone does not.
  if (ConfigError.isConfigError(error)) return `bad setting: ${flatten(String(error)).replace(/^\((.*)\)$/, "$1")}`
  if (error instanceof Error) return flatten(error.message)
  if (typeof error === "object" && error !== null && "message" in error) return flatten(String(error.message))
  return flatten(String(error))
}
