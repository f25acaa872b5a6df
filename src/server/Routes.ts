/**
 * The HTTP endpoints: session management in Reactor's shapes, capabilities, health, the browser page, and the RPC
 * transport's mount point. `app` wraps them in the gate every request passes: CORS, version headers, token.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either } from "effect"
import * as EndReason from "../session/EndReason.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as ApiVersion from "./ApiVersion.js"
import * as Auth from "./Auth.js"
import * as Cors from "./Cors.js"
import * as HttpError from "./HttpError.js"
import * as Registry from "./Registry.js"
import * as RpcMount from "./RpcMount.js"
import * as ServerConfig from "./ServerConfig.js"
import * as SessionResponse from "./SessionResponse.js"
import * as Static from "./Static.js"
import * as Selection from "../transport/Selection.js"
import * as WebRtcRoutes from "../http/WebRtcRoutes.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Reads a JSON object body; an empty body is `{}`. */
const jsonBody = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* request.text.pipe(Effect.mapError(() => HttpError.invalidRequest("the request body could not be read")))
  if (text.trim() === "") return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return yield* HttpError.invalidRequest("the request body is not valid JSON")
  }
  if (!isRecord(value)) return yield* HttpError.invalidRequest("the request body must be a JSON object")
  return value
})

const findSession = (id: string | undefined) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const session = id === undefined ? undefined : yield* reactor.get(id)
    if (session === undefined) return yield* HttpError.sessionNotFound(id ?? "")
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
  const body = yield* jsonBody
  if (body.extra_args !== undefined && !isRecord(body.extra_args)) {
    return yield* HttpError.invalidRequest("extra_args must be a JSON object")
  }
  const selected = Selection.select(body.supported_transports, Selection.offered)
  if (Either.isLeft(selected)) return yield* HttpError.make(400, selected.left.code, selected.left.message)
  const reactor = yield* Reactor.Reactor
  const registry = yield* Registry.Registry
  const session = yield* reactor.start(isRecord(body.extra_args) ? { extraArgs: body.extra_args } : {}).pipe(
    Effect.mapError((error) =>
      HttpError.make(503, "too_many_sessions", error.message, { max_sessions: error.max })
    )
  )
  yield* registry.register(session)
  return HttpServerResponse.unsafeJson(SessionResponse.started(reactor.model, session, selected.right))
})

const stopSession = Effect.gen(function*() {
  const body = yield* jsonBody
  // Reactor's SDK sends no body at all: it means the session it started (WebRtcRoutes.stopUnnamed).
  if (body.session_id === undefined) return yield* WebRtcRoutes.stopUnnamed((session) => stop(session, "api"))
  if (typeof body.session_id !== "string") return yield* HttpError.invalidRequest("session_id must be a string")
  return yield* stop(yield* findSession(body.session_id), "api")
})

const info = Effect.gen(function*() {
  const session = yield* findSession(yield* sessionIdParam)
  const reactor = yield* Reactor.Reactor
  const registry = yield* Registry.Registry
  const state = (yield* registry.state(session.id)) ?? "running"
  return HttpServerResponse.unsafeJson(SessionResponse.info(reactor.model, session, state, yield* session.stats))
})

/** The endpoints, without the gate. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/health", Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const sessions = yield* reactor.list
    return HttpServerResponse.unsafeJson(SessionResponse.health(reactor.model, sessions.length, reactor.options.maxSessions))
  })),
  HttpRouter.get("/capabilities", Effect.map(Reactor.Reactor, (reactor) => HttpServerResponse.unsafeJson(SessionResponse.fullCapabilities(reactor.model)))),
  HttpRouter.post("/start_session", startSession),
  HttpRouter.post("/stop_session", stopSession),
  HttpRouter.del("/sessions/:id", Effect.flatMap(Effect.flatMap(sessionIdParam, findSession), (session) => stop(session, "api"))),
  HttpRouter.get("/sessions/:id/info", info),
  HttpRouter.get("/sessions/:id/transport/websocket", Effect.gen(function*() {
    // Upgrades never reach the router (WsTransport takes them first); a plain GET lands here.
    yield* findSession(yield* sessionIdParam)
    return yield* HttpError.make(426, "upgrade_required", "this endpoint is a WebSocket: connect with Upgrade: websocket")
  })),
  // Mount point of the typed @effect/rpc transport (RpcTransport.ts): 501 until that module exists.
  HttpRouter.get("/sessions/:id/transport/rpc", Effect.gen(function*() {
    const session = yield* findSession(yield* sessionIdParam)
    const reactor = yield* Reactor.Reactor
    return yield* RpcMount.serve(session, reactor.model)
  })),
  HttpRouter.concat(WebRtcRoutes.router),
  HttpRouter.get("/", Effect.flatMap(ServerConfig.Config, (config) => Static.serve(config.webRoot, "/"))),
  HttpRouter.get("/:file", Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const request = yield* HttpServerRequest.HttpServerRequest
    return yield* Static.serve(config.webRoot, new URL(request.url, "http://x").pathname)
  }))
)

const queryOf = (url: string) => new URL(url, "http://x").searchParams

/** The gate: CORS (preflight and headers), version headers, token; then the endpoints; every error as JSON. */
export const app = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const request = yield* HttpServerRequest.HttpServerRequest
  const origin = request.headers.origin
  const corsHeaders = origin !== undefined && Cors.allowed(origin, request.headers.host, config.cors)
    ? Cors.headers(origin)
    : {}
  const answer = Effect.gen(function*() {
    if (origin !== undefined && !Cors.allowed(origin, request.headers.host, config.cors)) {
      return yield* HttpError.make(403, "forbidden_origin", `origin ${origin} is not allowed; add it to the server's cors list`)
    }
    if (request.method === "OPTIONS") return HttpServerResponse.empty({ status: 204 })
    const versionError = ApiVersion.check(request.headers)
    if (versionError !== undefined) return yield* versionError
    const authError = Auth.check(config.token, request.headers.authorization, queryOf(request.url))
    if (authError !== undefined) return yield* authError
    return yield* router
  }).pipe(
    Effect.catchTags({
      HttpError: (error) => Effect.succeed(HttpError.toResponse(error)),
      RouteNotFound: () =>
        Effect.succeed(HttpError.toResponse(HttpError.notFound(`${request.method} ${new URL(request.url, "http://x").pathname}`)))
    }),
    Effect.catchAllCause((cause) =>
      Effect.logError("request failed", cause).pipe(
        Effect.as(HttpServerResponse.unsafeJson({ code: "internal_error", message: "the server failed to answer" }, { status: 500 }))
      )
    )
  )
  const response = yield* answer
  return HttpServerResponse.setHeaders(response, corsHeaders)
})
