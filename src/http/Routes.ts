/**
 * The HTTP endpoints on `@effect/platform`'s `HttpRouter`: session management in Reactor's shapes, capabilities,
 * health, the browser page and the WebRTC signalling (`WebRtcRoutes`). `app` wraps them in middleware every request passes: the origin check and
 * `HttpMiddleware.cors`, the body size limit, version headers, the token; every error answers as JSON.
 * (WebSocket upgrades never reach it: see `transport/Upgrade.ts`.)
 */
import { HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Selection from "../protocol/Selection.js"
import * as SessionResponse from "../protocol/SessionResponse.js"
import * as Reactor from "../session/Reactor.js"
import * as Registry from "../session/Registry.js"
import type * as Session from "../session/Session.js"
import * as Body from "./Body.js"
import * as ClipRoutes from "./ClipRoutes.js"
import * as Cors from "./Cors.js"
import * as EventRoutes from "./EventRoutes.js"
import * as HttpError from "./HttpError.js"
import * as Middleware from "./Middleware.js"
import * as Prometheus from "./Prometheus.js"
import * as StartGate from "./StartGate.js"
import * as Static from "./Static.js"
import * as UploadRoutes from "./UploadRoutes.js"
import * as ViewerRoutes from "./ViewerRoutes.js"
import * as WebRtcRoutes from "./WebRtcRoutes.js"

/** `POST /start_session`'s body. */
export const StartBody = Schema.Struct({
  extra_args: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true }),
  /** Reactor's `CreateSessionRequest` list of `{protocol, version}`; checked by `Selection.select`. */
  supported_transports: Schema.optionalWith(Schema.Unknown, { exact: true })
})

/** `POST /stop_session`'s body; without a `session_id` (Reactor's SDK sends none) see `WebRtcRoutes.stopUnnamed`. */
export const StopBody = Schema.Struct({ session_id: Schema.optionalWith(Schema.String, { exact: true }) })

/** The session a client named (a path segment or a `session_id`: untrusted), or `session_not_found`. */
const findSession = (raw: string | undefined) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const session = raw === undefined ? undefined : yield* Reactor.lookup(reactor, raw)
    if (session === undefined) return yield* HttpError.sessionNotFound(raw ?? "")
    return session
  })

const sessionIdParam = Effect.map(HttpRouter.params, (params) => params.id)

const stop = (session: Session.Session, by: string) =>
  Effect.map(session.stop(EndReason.Stopped({ by })), (reason) =>
    HttpServerResponse.unsafeJson({
      session_id: session.id,
      state: "stopped",
      reason: EndReason.code(reason),
      message: EndReason.describe(reason)
    }))

const startSession = Effect.gen(function*() {
  yield* StartGate.check
  const { extra_args, supported_transports } = yield* Body.json(StartBody)
  const selected = Selection.select(supported_transports, Selection.offered)
  if (Either.isLeft(selected)) return yield* HttpError.make(400, selected.left.code, selected.left.message)
  const reactor = yield* Reactor.Reactor
  const registry = yield* Registry.Registry
  const session = yield* reactor.start(extra_args !== undefined ? { extraArgs: extra_args } : {}).pipe(
    Effect.mapError((error) =>
      error._tag === "TooManySessions"
        ? HttpError.make(503, "too_many_sessions", error.message, { max_sessions: error.max })
        : HttpError.make(503, "model_unavailable", error.message)
    )
  )
  yield* registry.register(session)
  return HttpServerResponse.unsafeJson(SessionResponse.started(reactor.model, session, selected.right))
})

const stopSession = Effect.gen(function*() {
  const { session_id } = yield* Body.json(StopBody)
  if (session_id === undefined) return yield* WebRtcRoutes.stopUnnamed((session) => stop(session, "api"))
  return yield* stop(yield* findSession(session_id), "api")
})

const info = Effect.gen(function*() {
  const session = yield* findSession(yield* sessionIdParam)
  const reactor = yield* Reactor.Reactor
  const registry = yield* Registry.Registry
  const state = (yield* registry.state(session.id)) ?? "running"
  const viewers = registry.viewers(session.id)
  return HttpServerResponse.unsafeJson({
    ...SessionResponse.info(reactor.model, session, state, yield* session.stats, registry.counters(session.id)),
    viewers: { controller: viewers.controller, watchers: viewers.watchers }
  })
})

/** A socket endpoint asked without an upgrade. */
const upgradeRequired = (error: HttpError.HttpError) =>
  Effect.gen(function*() {
    yield* findSession(yield* sessionIdParam)
    return yield* error
  })

/** The endpoints. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/health",
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      const sessions = yield* reactor.list
      const health = SessionResponse.health(
        reactor.model,
        sessions.length,
        reactor.options.maxSessions,
        yield* reactor.status
      )
      const workers = reactor.workers === undefined ? undefined : yield* reactor.workers
      return HttpServerResponse.unsafeJson(workers === undefined ? health : { ...health, workers })
    })
  ),
  HttpRouter.get(
    "/capabilities",
    Effect.map(
      Reactor.Reactor,
      (reactor) => HttpServerResponse.unsafeJson(SessionResponse.fullCapabilities(reactor.model))
    )
  ),
  HttpRouter.get("/metrics", Prometheus.handler),
  HttpRouter.post("/start_session", startSession),
  HttpRouter.post("/stop_session", stopSession),
  HttpRouter.del(
    "/sessions/:id",
    Effect.flatMap(Effect.flatMap(sessionIdParam, findSession), (session) => stop(session, "api"))
  ),
  HttpRouter.get("/sessions/:id/info", info),
  HttpRouter.get(
    "/sessions/:id/transport/websocket",
    upgradeRequired(
      HttpError.make(426, "upgrade_required", "this endpoint is a WebSocket: connect with Upgrade: websocket")
    )
  ),
  HttpRouter.get(
    "/sessions/:id/transport/rpc",
    upgradeRequired(HttpError.invalidRequest(
      "this endpoint is a WebSocket (the @effect/rpc transport): connect with an upgrade request"
    ))
  ),
  HttpRouter.concat(WebRtcRoutes.router),
  HttpRouter.concat(ViewerRoutes.router),
  HttpRouter.concat(UploadRoutes.router),
  HttpRouter.concat(EventRoutes.router),
  HttpRouter.concat(ClipRoutes.router),
  HttpRouter.get("/", Effect.flatMap(ServerConfig.Config, (config) => Static.serve(config.webRoot, "/"))),
  HttpRouter.get(
    "/:file",
    Effect.gen(function*() {
      const config = yield* ServerConfig.Config
      const request = yield* HttpServerRequest.HttpServerRequest
      return yield* Static.serve(config.webRoot, new URL(request.url, "http://x").pathname)
    })
  )
)

/** The app: the endpoints behind the gate, errors as JSON, CORS, the origin check. */
export const app = router.pipe(
  Middleware.gate,
  Middleware.errors,
  HttpMiddleware.cors({
    // the origin check ran first: any origin that gets here is allowed
    allowedOrigins: (origin) => typeof origin === "string",
    // PUT: the SDK's reconnect re-sends its offer with PUT sdp_params
    allowedMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowedHeaders: Cors.allowHeaders,
    maxAge: 600
  }),
  Middleware.origins
)
