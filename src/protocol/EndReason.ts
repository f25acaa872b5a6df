/**
 * Why a session ended. Every session end carries exactly one of these.
 */
import { Data, Schema } from "effect"

/** The typed reason a session ended. */
export type EndReason = Data.TaggedEnum<{
  /** Stopped on request: an explicit stop, a client that left, an orphan timeout; `by` says which. */
  Stopped: { readonly by: string }
  /** The model's loop returned: the session is complete. */
  ModelFinished: {}
  /** The model's loop or session set-up failed; `error` is the rendered cause. */
  ModelFailed: { readonly error: string }
  /** The stop deadline passed before the model's loop let go; it was torn down. `requested` is the stop's reason. */
  DeadlineExceeded: { readonly requested: string; readonly deadlineMs: number }
  /** The runtime is shutting down. */
  Shutdown: {}
}>

export const { Stopped, ModelFinished, ModelFailed, DeadlineExceeded, Shutdown, $is, $match } = Data.taggedEnum<
  EndReason
>()

/**
 * The reason as a schema, for what crosses a boundary (a model host's RPC): the wire form is the tagged struct, and it
 * decodes back into the same `Data` values the constructors above make.
 */
const Wire = Schema.Union(
  Schema.TaggedStruct("Stopped", { by: Schema.String }),
  Schema.TaggedStruct("ModelFinished", {}),
  Schema.TaggedStruct("ModelFailed", { error: Schema.String }),
  Schema.TaggedStruct("DeadlineExceeded", { requested: Schema.String, deadlineMs: Schema.Number }),
  Schema.TaggedStruct("Shutdown", {})
)

export const EndReasonSchema: Schema.Schema<EndReason, typeof Wire.Encoded> = Schema.Data(Wire)

/** A one-line human description of the reason. */
export const describe = (reason: EndReason): string =>
  $match(reason, {
    Stopped: ({ by }) => `stopped (${by})`,
    ModelFinished: () => "model finished",
    ModelFailed: ({ error }) => `model failed: ${error}`,
    DeadlineExceeded: ({ deadlineMs, requested }) =>
      `stop deadline of ${deadlineMs} ms exceeded while ${requested}: the model loop was torn down`,
    Shutdown: () => "runtime shutdown"
  })

/** The snake_case code sent on the wire for a reason. */
export const code = (reason: EndReason): string =>
  $match(reason, {
    Stopped: () => "stopped",
    ModelFinished: () => "model_finished",
    ModelFailed: () => "model_failed",
    DeadlineExceeded: () => "deadline_exceeded",
    Shutdown: () => "shutdown"
  })
