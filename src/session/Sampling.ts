/**
 * Which traces are kept: the OpenTelemetry SDK's own samplers, chosen by the standard variables
 * `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`,
 * `parentbased_always_off`, `parentbased_traceidratio`) and `OTEL_TRACES_SAMPLER_ARG` (the ratio, 0..1).
 *
 * The SDK would read the same variables itself, but it answers a wrong value by logging through its `diag` channel
 * (silent unless a diag logger is installed) and sampling everything: here a wrong value is a startup error that
 * names the variable and the accepted values.
 *
 * A session's span is the root of its trace and its commands are its children (across the worker too), so with a
 * parent-based sampler a session is traced whole or not at all.
 */
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler
} from "@opentelemetry/sdk-trace-base"
import { Data, Either } from "effect"

/** The sampler names of the OpenTelemetry specification this runtime supports. */
export const names = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const

/** A supported sampler name. */
export type Name = typeof names[number]

/**
 * The sampler when `OTEL_TRACES_SAMPLER` is not set: one session in twenty traced whole (its commands on both sides of
 * the worker), the others not at all. Not OpenTelemetry's own default (`parentbased_always_on`) because keeping every
 * span costs each command ~6 spans made, batched and serialized: bench 15 measured the command round trip p50 at
 * 1.28x-1.33x with every span kept, against the 5% the runtime allows itself with metrics and tracing on. An
 * unsampled session's commands cost ~1-3% (ratio 0 against metrics only, p50, 20 sessions a server, load ~6), and the
 * kept ones scale with the ratio: at 0.1 (3 of 40 sessions kept) the p50 was 1.11x on a machine at load 12, so 0.05.
 * A root-only ratio keeps traces whole, and sessions are long: one in twenty still traces every command of the
 * sessions it keeps. `OTEL_TRACES_SAMPLER=parentbased_always_on` keeps everything.
 */
export const defaultName: Name = "parentbased_traceidratio"

/** The ratio of the default sampler when neither variable is set (`OTEL_TRACES_SAMPLER_ARG` alone changes it). */
export const defaultRatio = 0.05

/** The ratio of an explicitly named `traceidratio` sampler without `OTEL_TRACES_SAMPLER_ARG` (the specification's). */
export const specRatio = 1

/** The variables name no sampler this runtime supports, or a ratio outside 0..1: the server does not start. */
export class InvalidSampler extends Data.TaggedError("InvalidSampler")<{ readonly message: string }> {}

/** A chosen sampler, with what chose it. */
export interface Sampling {
  readonly name: Name
  /** The ratio of the `traceidratio` samplers; `undefined` for the others. */
  readonly ratio: number | undefined
  readonly sampler: Sampler
}

const isName = (value: string): value is Name => (names as ReadonlyArray<string>).includes(value)

const ratioFrom = (raw: string | undefined, fallback: number): Either.Either<number, InvalidSampler> => {
  if (raw === undefined || raw.trim() === "") return Either.right(fallback)
  const ratio = Number(raw.trim())
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1
    ? Either.right(ratio)
    : Either.left(
      new InvalidSampler({
        message: `OTEL_TRACES_SAMPLER_ARG="${raw}" is not a ratio: it must be a number from 0 to 1 (e.g. 0.01)`
      })
    )
}

/** The sampler the environment asks for (`defaultName` when it names none), or why it cannot be built. */
export const fromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env
): Either.Either<Sampling, InvalidSampler> => {
  const raw = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase()
  const named = raw !== undefined && raw !== ""
  const name = named ? raw : defaultName
  if (!isName(name)) {
    return Either.left(
      new InvalidSampler({
        message: `OTEL_TRACES_SAMPLER="${env.OTEL_TRACES_SAMPLER}" is not a supported sampler: use one of ${
          names.join(", ")
        }`
      })
    )
  }
  if (name !== "traceidratio" && name !== "parentbased_traceidratio") {
    const sampler = name === "always_on"
      ? new AlwaysOnSampler()
      : name === "always_off"
      ? new AlwaysOffSampler()
      : new ParentBasedSampler({
        root: name === "parentbased_always_on" ? new AlwaysOnSampler() : new AlwaysOffSampler()
      })
    return Either.right({ name, ratio: undefined, sampler })
  }
  return Either.map(ratioFrom(env.OTEL_TRACES_SAMPLER_ARG, named ? specRatio : defaultRatio), (ratio) => {
    const root = new TraceIdRatioBasedSampler(ratio)
    return { name, ratio, sampler: name === "traceidratio" ? root : new ParentBasedSampler({ root }) }
  })
}
