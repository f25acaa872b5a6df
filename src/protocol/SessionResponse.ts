/**
 * The bodies of the session endpoints, in Reactor's shapes: the session response of `POST /start_session`, the
 * capabilities, the session info.
 */
import * as Capabilities from "../model/Capabilities.js"
import type * as Model from "../model/Model.js"
import * as Output from "../model/Output.js"
import * as ApiVersion from "./ApiVersion.js"
import * as Selection from "./Selection.js"
import type * as SessionId from "./SessionId.js"
import type * as Stats from "./Stats.js"

export const serverVersion = "0.1.0"

/** The output track: one video track the client receives. */
export const mainVideo = { name: "main_video", kind: "video", direction: "recvonly" } as const

/** The output tracks alone (what a model without inputs lists). */
export const tracks = [mainVideo] as const

/** One capabilities track; `direction` is the client's (`recvonly`: the server sends; `sendonly`: the client does). */
export interface Track {
  readonly name: string
  readonly kind: "video" | "audio"
  readonly direction: "recvonly" | "sendonly"
}

/** The output tracks as capabilities list them: each `recvonly`, in declaration order (`main_video` alone by default). */
export const outputTracksOf = (model: Pick<Model.Declared, "outputs">): ReadonlyArray<Track> =>
  model.outputs === undefined
    ? tracks
    : Object.entries(model.outputs).map(([name, spec]) => ({ name, kind: spec.kind, direction: "recvonly" as const }))

/**
 * The capabilities tracks: the output tracks first (`main_video` alone, index 0, for a model that declares none; else
 * its `outputs` in declaration order, a video track first), then each input track the model declares, in declaration
 * order, as a `sendonly` video track. A WebSocket binary message's header names its track by this index.
 */
export const tracksOf = (model: Pick<Model.Declared, "inputs" | "outputs">): ReadonlyArray<Track> => [
  ...outputTracksOf(model),
  ...Object.keys(model.inputs).map((name) => ({ name, kind: "video" as const, direction: "sendonly" as const }))
]

/** What a response says of a session: its id and when it started (epoch ms). */
export interface SessionRef {
  readonly id: SessionId.SessionId
  readonly startedAt: number
}

const modelOf = (model: Model.Declared) => ({ name: model.name, version: model.version ?? "1" })

/** The protocol version as Reactor's capabilities carry it: a string (the SDK's zod schema rejects a number). */
export const protocolVersion = String(ApiVersion.current)

/** The capabilities as a session response carries them (Reactor's shape). */
export const capabilities = (model: Model.Declared) => ({
  protocol_version: protocolVersion,
  tracks: tracksOf(model),
  commands: Capabilities.toReactor(model.capabilities),
  emission_fps: null
})

/** `GET /capabilities`: Reactor's shape plus the full JSON Schema and key bindings per command. */
export const fullCapabilities = (model: Model.Declared) => ({
  model: modelOf(model),
  protocol_version: protocolVersion,
  tracks: tracksOf(model),
  outputs: Object.entries(Output.of(model)).map(([name, spec]) => ({
    name,
    kind: spec.kind,
    description: spec.description,
    ...(spec.kind === "audio" ? { sample_rate: spec.sampleRate, channels: spec.channels } : {})
  })),
  inputs: Object.entries(model.inputs).map(([name, spec]) => ({
    name,
    kind: spec.kind,
    description: spec.description,
    max_width: spec.maxWidth,
    max_height: spec.maxHeight
  })),
  commands: model.capabilities.map((command) => ({
    name: command.name,
    description: command.description,
    schema: command.schema,
    json_schema: command.jsonSchema,
    ...(command.keys !== undefined ? { keys: command.keys } : {})
  })),
  emission_fps: null
})

/** The `modelCapabilities` message data. */
export const modelCapabilities = (model: Model.Declared) => ({
  commands: model.capabilities.map(({ description, keys, name, schema }) => ({
    name,
    description,
    schema,
    ...(keys !== undefined ? { keys } : {})
  }))
})

/** Where a session's WebSocket transport is. */
export const websocketPath = (sessionId: string) => `/sessions/${sessionId}/transport/websocket`
export const rpcPath = (sessionId: string) => `/sessions/${sessionId}/transport/rpc`
/** The base of a session's WebRTC signalling (`ice_servers`, `sdp_params`), as Reactor's SDK builds it. */
export const webrtcPath = (sessionId: string) => `/sessions/${sessionId}/transport/webrtc`

const transportOf = (protocol: Selection.Protocol, sessionId: string) => ({
  protocol,
  version: Selection.versions[protocol],
  url: protocol === "webrtc"
    ? webrtcPath(sessionId)
    : protocol === "rpc"
    ? rpcPath(sessionId)
    : websocketPath(sessionId)
})

/** `POST /start_session`'s answer; `selected` is the transport chosen from what the client supports. */
export const started = (model: Model.Declared, session: SessionRef, selected: Selection.Protocol) => ({
  session_id: session.id,
  state: "running",
  cluster: "local",
  model: modelOf(model),
  server_info: { server_version: serverVersion },
  selected_transport: transportOf(selected, session.id),
  transports: Selection.offered.map((protocol) => transportOf(protocol, session.id)),
  capabilities: capabilities(model)
})

/** What the session's connections counted (see `Registry.Counters`). */
export interface TransportCounts {
  readonly skippedFrames: number
  readonly rateLimited: number
}

/** Session figures in snake_case; dropped frames include those the transports skipped for a client not reading. */
export const stats = (stats: Stats.Stats, transport: TransportCounts = { skippedFrames: 0, rateLimited: 0 }) => ({
  frames_generated: stats.framesGenerated,
  frames_emitted: stats.framesEmitted,
  emission_fps: stats.emissionFps,
  dropped_frames: stats.droppedFrames + transport.skippedFrames,
  dropped_input_frames: stats.droppedInputFrames,
  commands_rate_limited: transport.rateLimited,
  commands_applied: stats.commandsApplied,
  commands_rejected: stats.commandsRejected,
  command_to_frame_ms: stats.lastCommandToFrameMs ?? null,
  uptime_ms: stats.uptimeMs
})

/** `GET /sessions/{id}/info`'s answer. */
export const info = (
  model: Model.Declared,
  session: SessionRef,
  state: string,
  figures: Stats.Stats,
  transport?: TransportCounts
) => ({
  session_id: session.id,
  state,
  started_at: new Date(session.startedAt).toISOString(),
  model: modelOf(model),
  stats: stats(figures, transport)
})

/** `GET /health`'s answer. */
export const health = (model: Model.Declared, sessions: number, maxSessions: number, status: string = "ok") => ({
  status,
  model: modelOf(model),
  sessions,
  max_sessions: maxSessions
})
