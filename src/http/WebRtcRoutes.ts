/**
 * The WebRTC signalling endpoints of Reactor's local mode, under `/sessions/{id}/transport/webrtc`:
 * `GET ice_servers`, `POST`/`PUT sdp_params` (the offer; answered exactly 202, held until the answer exists so the
 * SDK's first poll finds it) and `GET sdp_params` (202 while pending, 200 `{sdp_answer}`). Every call carries
 * `Reactor-WebRTC-Version`; a major version other than 1 is answered 426 or 501.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as WebRtc from "../transport/WebRtc.js"
import * as Body from "./Body.js"
import * as HttpError from "./HttpError.js"

/** The WebRTC signalling version this server speaks (`Reactor-WebRTC-Version`). */
export const version = "1.0"

/** Largest SDP offer accepted (a browser's offer with candidates is a few KiB). */
export const maxOfferBytes = 64 * 1024

const TrackMapping = Schema.Struct({
  name: Schema.String.pipe(Schema.maxLength(128)),
  kind: Schema.Literal("video", "audio"),
  direction: Schema.Literal("recvonly", "sendonly"),
  mid: Schema.String.pipe(Schema.maxLength(64))
})

/** The body of `POST`/`PUT sdp_params`, as the SDK sends it. */
export const OfferRequest = Schema.Struct({
  sdp_offer: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(maxOfferBytes)),
  client_info: Schema.optionalWith(Schema.Struct({ sdk_version: Schema.String, sdk_type: Schema.String }), {
    exact: true
  }),
  track_mapping: Schema.Array(TrackMapping).pipe(Schema.maxItems(16))
})

/** Checks `Reactor-WebRTC-Version`; absent is accepted. */
export const checkVersion = (raw: string | undefined): HttpError.HttpError | undefined => {
  if (raw === undefined) return undefined
  const match = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(raw)
  if (match === null) {
    return HttpError.make(
      400,
      "invalid_request",
      `header Reactor-WebRTC-Version must be a version like ${version}, got ${JSON.stringify(raw)}`
    )
  }
  const major = Number(match[1])
  if (major < 1) {
    return HttpError.make(
      426,
      "client_too_old",
      `the client speaks WebRTC signalling ${raw} but this server needs ${version}; upgrade the client`,
      { server_version: version }
    )
  }
  if (major > 1) {
    return HttpError.make(
      501,
      "server_too_old",
      `the client speaks WebRTC signalling ${raw} but this server only speaks ${version}; upgrade the server`,
      { server_version: version }
    )
  }
  return undefined
}

const session = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const versionError = checkVersion(request.headers["reactor-webrtc-version"])
  if (versionError !== undefined) return yield* versionError
  const { id } = yield* HttpRouter.params
  const reactor = yield* Reactor.Reactor
  const found = id === undefined ? undefined : yield* Reactor.lookup(reactor, id)
  if (found === undefined) return yield* HttpError.sessionNotFound(id ?? "")
  return found
})

/** The offer's body: the SDP and its JSON wrapping, with room for the track mapping. */
const offerBody = Body.json(OfferRequest, { maxBytes: maxOfferBytes + 16 * 1024 })

const postOffer = Effect.gen(function*() {
  const target = yield* session
  const body = yield* offerBody
  const webrtc = yield* WebRtc.WebRtc
  yield* webrtc.offer(target, { sdp: body.sdp_offer, mapping: body.track_mapping }).pipe(
    Effect.mapError((error) =>
      error._tag === "WrtcUnavailable"
        ? HttpError.make(501, "webrtc_unavailable", error.message)
        : HttpError.make(error.code === "session_closed" ? 404 : 400, error.code, error.message)
    )
  )
  const state = yield* webrtc.answer(target.id)
  return HttpServerResponse.unsafeJson({
    session_id: target.id,
    state: state._tag === "Ready" ? "answered" : "pending"
  }, { status: 202 })
})

const getAnswer = Effect.gen(function*() {
  const target = yield* session
  const webrtc = yield* WebRtc.WebRtc
  const state = yield* webrtc.answer(target.id)
  switch (state._tag) {
    case "NoOffer":
      return yield* HttpError.make(404, "no_offer", `session ${target.id} has no SDP offer yet: POST sdp_params first`)
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

const base = "/sessions/:id/transport/webrtc"

/** The signalling endpoints. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    `${base}/ice_servers`,
    Effect.gen(function*() {
      yield* session
      const webrtc = yield* WebRtc.WebRtc
      return HttpServerResponse.unsafeJson({ ice_servers: webrtc.config.iceServers })
    })
  ),
  HttpRouter.post(`${base}/sdp_params`, postOffer),
  HttpRouter.put(`${base}/sdp_params`, postOffer),
  HttpRouter.get(`${base}/sdp_params`, getAnswer)
)

/**
 * `stop_session` without a session id, as Reactor's SDK sends it (no body). With one session running it is that one
 * (`stopOne` answers). With several, the SDK's call cannot say which: the stop is armed for the WebRTC peer that
 * closes next (the SDK closes its peer right after this call returns), and the answer is 202 `stopping`.
 */
export const stopUnnamed = <E, R>(
  stopOne: (session: Session.Session) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const sessions = yield* reactor.list
    if (sessions.length === 1) return yield* stopOne(sessions[0]!)
    if (sessions.length === 0) return yield* HttpError.make(404, "session_not_found", "no session is running")
    const webrtc = yield* WebRtc.WebRtc
    yield* webrtc.armStop
    return HttpServerResponse.unsafeJson({
      state: "stopping",
      message:
        `${sessions.length} sessions are running and no session_id was given: the one whose WebRTC connection closes next is stopped; name the session to stop it at once`
    }, { status: 202 })
  })
