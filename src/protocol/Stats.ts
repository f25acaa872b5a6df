/**
 * A session's live figures, as the session core counts them and as they cross a model host's boundary. The wire's
 * snake_case shape (`stats`, `/info`) is `SessionResponse.stats`.
 */
import { Schema } from "effect"

/** Live figures of a session. */
export const Stats = Schema.Struct({
  framesGenerated: Schema.Number,
  framesEmitted: Schema.Number,
  /** Frames released in the last second. */
  emissionFps: Schema.Number,
  /** Frames dropped for slow consumers. */
  droppedFrames: Schema.Number,
  /** Input frames dropped: the model's readers fell behind, or its host did. */
  droppedInputFrames: Schema.Number,
  commandsApplied: Schema.Number,
  commandsRejected: Schema.Number,
  /** Time from receiving the last applied command to releasing the first frame generated after it (ms). */
  lastCommandToFrameMs: Schema.UndefinedOr(Schema.Number),
  uptimeMs: Schema.Number
})
export type Stats = typeof Stats.Type
