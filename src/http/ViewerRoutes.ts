/**
 * More viewers of one session over WebRTC, each on a peer of its own (`WebRtc.Viewer`):
 *
 * - Reactor's connection endpoints: `POST /sessions/{id}/transport/webrtc/connections` (`?role=watcher`, or a
 *   controller by default) mints a connection (201 `{connection_id, track_map}`), then
 *   `POST`/`PUT`/`GET .../connections/{cid}/sdp_params` negotiate its peer as `sdp_params` does.
 * - For Reactor's SDK 2.9.0 unchanged, which always starts a session: a watcher's base URL,
 *   `/sessions/{id}/watchers/{key}` (the page picks `key`, e.g. a random string). Given as the SDK's `apiUrl`, its
 *   `start_session` joins session `{id}` instead of starting one, its signalling under that base negotiates the
 *   watcher's own peer, and its `stop_session` only closes that peer: the session goes on.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as SessionResponse from "../protocol/SessionResponse.js"
import * as Reactor from "../session/Reactor.js"
import type * as Registry from "../session/Registry.js"
import * as WebRtc from "../transport/WebRtc.js"
import * as Body from "./Body.js"
import * as HttpError from "./HttpError.js"
import * as WebRtcRoutes from "./WebRtcRoutes.js"

/** A viewer key or connection id: short, URL-safe. */
const keyPattern = /^[A-Za-z0-9_-]{1,64}$/

const badKey = (what: string, key: string | undefined) =>
  HttpError.invalidRequest(
    `${what} must be 1 to 64 letters, digits, "-" or "_", got ${JSON.stringify((key ?? "").slice(0, 80))}`
  )

/** The session of the path's `:id`, its WebRTC version header checked. */
const sessionOf = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const versionError = WebRtcRoutes.checkVersion(request.headers["reactor-webrtc-version"])
  if (versionError !== undefined) return yield* versionError
  const params = yield* HttpRouter.params
  const reactor = yield* Reactor.Reactor
  const found = params.id === undefined ? undefined : yield* Reactor.lookup(reactor, params.id)
  if (found === undefined) return yield* HttpError.sessionNotFound(params.id ?? "")
  // the watcher base repeats the session's id in the SDK's own path: it must be the same session
  if (params.sid !== undefined && params.sid !== params.id) {
    return yield* HttpError.invalidRequest(
      `this watcher's base URL is for session ${params.id}, not ${params.sid}: use the session_id start_session gave`
    )
  }
  return found
})

/** A minted connection's id says its role: `w…` a watcher, `c…` a controller. */
const roleOf = (cid: string): Registry.Role => (cid.startsWith("w") ? "watcher" : "controller")

/** The viewer the path names: a minted connection (`:cid`) or a watcher base (`:key`). */
const viewerOf = Effect.gen(function*() {
  const params = yield* HttpRouter.params
  if (params.cid !== undefined) {
    if (!keyPattern.test(params.cid)) return yield* badKey("the connection id", params.cid)
    return { key: `connection:${params.cid}`, role: roleOf(params.cid) } satisfies WebRtc.Viewer
  }
  if (params.key === undefined || !keyPattern.test(params.key)) return yield* badKey("the watcher key", params.key)
  return { key: `watcher:${params.key}`, role: "watcher" } satisfies WebRtc.Viewer
})

const offerBody = Body.json(WebRtcRoutes.OfferRequest, { maxBytes: WebRtcRoutes.maxOfferBytes + 16 * 1024 })

const postOffer = Effect.gen(function*() {
  const target = yield* sessionOf
  const viewer = yield* viewerOf
  const body = yield* offerBody
  const webrtc = yield* WebRtc.WebRtc
  yield* webrtc.offer(target, { sdp: body.sdp_offer, mapping: body.track_mapping }, viewer).pipe(
    Effect.mapError((error) =>
      error._tag === "WrtcUnavailable"
        ? HttpError.make(501, "webrtc_unavailable", error.message)
        : HttpError.make(error.code === "session_closed" ? 404 : 400, error.code, error.message)
    )
  )
  const state = yield* webrtc.answer(target.id, viewer.key)
  return HttpServerResponse.unsafeJson({
    session_id: target.id,
    state: state._tag === "Ready" ? "answered" : "pending"
  }, { status: 202 })
})

const getAnswer = Effect.gen(function*() {
  const target = yield* sessionOf
  const viewer = yield* viewerOf
  const webrtc = yield* WebRtc.WebRtc
  const state = yield* webrtc.answer(target.id, viewer.key)
  switch (state._tag) {
    case "NoOffer":
      return yield* HttpError.make(404, "no_offer", `this viewer of session ${target.id} has no SDP offer yet`)
    case "Pending":
      return HttpServerResponse.unsafeJson({ session_id: target.id, state: "pending" }, { status: 202 })
    case "Ready":
      return HttpServerResponse.unsafeJson({ sdp_answer: state.sdp })
    case "Failed":
      return yield* state.error._tag === "WrtcUnavailable"
        ? HttpError.make(501, "webrtc_unavailable", state.error.message)
        : HttpError.make(400, state.error.code, state.error.message)
  }
})

const iceServers = Effect.gen(function*() {
  yield* sessionOf
  const webrtc = yield* WebRtc.WebRtc
  return HttpServerResponse.unsafeJson({ ice_servers: webrtc.config.iceServers })
})

const RoleQuery = Schema.Literal("controller", "watcher")

/** `POST .../connections`: a new connection id of the asked role. */
const mint = Effect.gen(function*() {
  yield* sessionOf
  const request = yield* HttpServerRequest.HttpServerRequest
  const asked = new URL(request.url, "http://x").searchParams.get("role") ?? "controller"
  const role = Schema.decodeUnknownOption(RoleQuery)(asked)
  if (Option.isNone(role)) {
    return yield* HttpError.invalidRequest(`role must be "controller" or "watcher", got ${JSON.stringify(asked)}`)
  }
  const reactor = yield* Reactor.Reactor
  const id = `${role.value === "watcher" ? "w" : "c"}${randomBytes(12).toString("base64url")}`
  return HttpServerResponse.unsafeJson({
    connection_id: id,
    role: role.value,
    track_map: { tracks: SessionResponse.tracksOf(reactor.model) }
  }, { status: 201 })
})

/** A watcher base's `start_session`: the session it names, joined (the SDK then connects its transport). */
const join = Effect.gen(function*() {
  const target = yield* sessionOf
  yield* viewerOf
  const reactor = yield* Reactor.Reactor
  return HttpServerResponse.unsafeJson(SessionResponse.started(reactor.model, target, "webrtc"))
})

/** A watcher base's `stop_session`: the watcher leaves; the session goes on. */
const leave = Effect.gen(function*() {
  const target = yield* sessionOf
  yield* viewerOf
  return HttpServerResponse.unsafeJson({ session_id: target.id, state: "left" })
})

const connection = "/sessions/:id/transport/webrtc/connections/:cid"
const watcher = "/sessions/:id/watchers/:key"
const watcherWebRtc = `${watcher}/sessions/:sid/transport/webrtc`

/** The viewer endpoints. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.post("/sessions/:id/transport/webrtc/connections", mint),
  HttpRouter.post(`${connection}/sdp_params`, postOffer),
  HttpRouter.put(`${connection}/sdp_params`, postOffer),
  HttpRouter.get(`${connection}/sdp_params`, getAnswer),
  HttpRouter.post(`${watcher}/start_session`, join),
  HttpRouter.post(`${watcher}/stop_session`, leave),
  HttpRouter.get(`${watcherWebRtc}/ice_servers`, iceServers),
  HttpRouter.post(`${watcherWebRtc}/sdp_params`, postOffer),
  HttpRouter.put(`${watcherWebRtc}/sdp_params`, postOffer),
  HttpRouter.get(`${watcherWebRtc}/sdp_params`, getAnswer)
)
