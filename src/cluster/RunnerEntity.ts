/**
 * The control messages a coordinator sends a runner over the cluster: `Start` a session, `Stop` one, `Status` (what the
 * runner serves, its capacity, its sessions and the reasons of those that ended). One entity per runner, its id the
 * runner's id, in the runner's own shard group (`Engine.groupOf`), so every message reaches that runner and only it.
 * Each message carries the cluster's secret; a runner refuses one without it. Media never travels here.
 */
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import * as Engine from "./Engine.js"

/** A runner refused a control message: `unauthorized`, `draining`, `too_many_sessions`, `model_unavailable`. */
export class Refused extends Schema.TaggedError<Refused>()("Refused", {
  code: Schema.String,
  message: Schema.String
}) {}

/** Starts a session; the answer is the runner's session id and its `start_session` response (Reactor's shape). */
export const Start = Rpc.make("Start", {
  payload: Schema.Struct({
    secret: Schema.String,
    extraArgs: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
    supportedTransports: Schema.optionalWith(Schema.Unknown, { exact: true })
  }),
  success: Schema.Struct({ runnerSessionId: Schema.String, response: Schema.Unknown }),
  error: Refused
})

/** Stops a session; the answer is its end reason (code and text). Unknown sessions answer `session_not_found`. */
export const Stop = Rpc.make("Stop", {
  payload: Schema.Struct({ secret: Schema.String, runnerSessionId: Schema.String, by: Schema.String }),
  success: Schema.Struct({ reason: Schema.String, message: Schema.String }),
  error: Refused
})

/** A session that ended on the runner, and why. */
export const Ended = Schema.Struct({ id: Schema.String, reason: Schema.String, message: Schema.String })

/** What a runner reports. */
export const RunnerStatus = Schema.Struct({
  /** The model's name (sessions are routed by it). */
  model: Schema.String,
  /** Sessions it takes at once. */
  capacity: Schema.Number,
  /** Its HTTP base URL (signalling is relayed there; the WebSocket transports are there). */
  url: Schema.String,
  /** Draining: it takes no new sessions. */
  draining: Schema.Boolean,
  /** Its HTTP API needs a token (`--token`): the coordinator must be given it (`--runner-token`). */
  protected: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Its running sessions' ids. */
  sessions: Schema.Array(Schema.String),
  /** The last sessions that ended there. */
  ended: Schema.Array(Ended)
})
export type RunnerStatus = typeof RunnerStatus.Type

/** Asks for the runner's status. */
export const Status = Rpc.make("Status", {
  payload: Schema.Struct({ secret: Schema.String }),
  success: RunnerStatus,
  error: Refused
})

/** The runner entity: one per runner, pinned to it by its shard group. */
export const RunnerEntity = Entity.make("ReactorRunner", [Start, Stop, Status]).annotate(
  ClusterSchema.ShardGroup,
  (entityId) => Engine.groupOf(entityId)
)
