/**
 * The `@effect/rpc` protocol between the server (main thread) and a model host (a worker thread): load the model,
 * start sessions, submit commands, stop, stats, and the frame, message and end streams of a session.
 *
 * Commands cross as the client sent them (`type` and `data` undecoded): the worker's session mailbox decodes them
 * against the model's own command schemas, so the schema is the one validator on every path, its specific errors
 * (`CommandError`) come back typed, and no model-defined schema runs on the server's thread. Frames cross as
 * transferables: the pixels' buffer moves to the main thread without a copy (see `transferable`).
 */
import * as Transferable from "@effect/platform/Transferable"
import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import * as AckSchema from "../protocol/Ack.js"
import * as CommandError from "../protocol/CommandError.js"
import * as EndReason from "../protocol/EndReason.js"
import * as SessionId from "../protocol/SessionId.js"
import * as StatsSchema from "../protocol/Stats.js"
import * as Metrics from "../session/Metrics.js"

/** An applied command (`Mailbox.Ack`). */
export const Ack = AckSchema.Ack

/** A session's live figures (`Session.Stats`). */
export const Stats = StatsSchema.Stats

/** The model could not be loaded in the worker (bad config, a failing `load`, a module without a model). */
export class LoadFailed extends Schema.TaggedError<LoadFailed>()("LoadFailed", { message: Schema.String }) {}

/** No session of that id runs in this worker. */
export class NoSuchSession
  extends Schema.TaggedError<NoSuchSession>()("NoSuchSession", { session: SessionId.SessionId })
{
  override get message() {
    return `no session ${this.session} in this model host`
  }
}

const session = { session: SessionId.SessionId }

/** Loads the model (its module, config and `load`) once; the other calls wait for it. */
export class Load extends Rpc.make("Load", {
  payload: {
    module: Schema.String,
    configSource: Schema.String,
    config: Schema.Unknown,
    overrides: Schema.Array(Schema.Struct({ path: Schema.Array(Schema.String), raw: Schema.String })),
    maxSessions: Schema.Number,
    stopDeadlineMs: Schema.Number,
    exposeModelErrors: Schema.optional(Schema.Boolean),

    maxFps: Schema.optional(Schema.Number),
    /** Whether the host tallies its sessions' figures for the server's metrics (`DrainMetrics`). */
    metrics: Schema.optional(Schema.Boolean)
  },
  success: Schema.Struct({ name: Schema.String }),
  error: LoadFailed
}) {}

/**
 * Starts a session with the server's id and options; its frames go to `frames` (`FrameLink`), and its input frames
 * come on `inputs` (`InputLink`, when the model declares input tracks).
 */
export class Start extends Rpc.make("Start", {
  payload: {
    id: SessionId.SessionId,
    extraArgs: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    frames: Transferable.MessagePort,
    inputs: Schema.optional(Transferable.MessagePort),
    /** The session's audio chunks (`AudioLink`), when the model declares audio output tracks. */
    audio: Schema.optional(Transferable.MessagePort)
  },
  success: Schema.Struct({ startedAt: Schema.Number }),
  error: LoadFailed
}) {}

/** Submits a command as the client sent it; answers its ack or the specific error. */
export class Submit extends Rpc.make("Submit", {
  payload: {
    ...session,
    type: Schema.Unknown,
    data: Schema.Unknown,
    id: Schema.optional(Schema.Union(Schema.String, Schema.Number))
  },
  success: Ack,
  error: CommandError.CommandError
}) {}

/** Stops a session cooperatively; answers the reason it ended with. */
export class Stop extends Rpc.make("Stop", {
  payload: { ...session, reason: EndReason.EndReasonSchema },
  success: EndReason.EndReasonSchema
}) {}

/** Waits for a session to end; answers why. */
export class Ended extends Rpc.make("Ended", { payload: session, success: EndReason.EndReasonSchema }) {}

/** A session's live figures. */
export class GetStats extends Rpc.make("GetStats", { payload: session, success: Stats, error: NoSuchSession }) {}

/** The model's messages to the client. */
export class Messages extends Rpc.make("Messages", { payload: session, success: Schema.Unknown, stream: true }) {}

/** A viewer of a session connected or left (the model's `connected` / `disconnected` hooks). */
export class Viewer extends Rpc.make("Viewer", {
  payload: {
    ...session,
    event: Schema.Literal("connected", "disconnected"),
    viewer: Schema.Struct({
      id: Schema.String,
      role: Schema.Literal("controller", "watcher"),
      transport: Schema.String
    })
  }
}) {}

/**
 * Answers at once: the host's thread is free. A model that blocks the thread (a handler or loop that spins) leaves it
 * unanswered, which is how the server tells a wedged host from a busy one.
 */
export class Ping extends Rpc.make("Ping", {}) {}

/**
 * Hands over what the host's sessions recorded since the last drain (frames, commands, step times: `Metrics.tally`),
 * for the server to replay into its own metrics. Empty when the host keeps no tally.
 */
export class DrainMetrics extends Rpc.make("DrainMetrics", { success: Metrics.Drained }) {}

/** The whole protocol. */
export class Protocol
  extends RpcGroup.make(Load, Start, Submit, Stop, Ended, GetStats, Messages, Ping, Viewer, DrainMetrics)
{}
