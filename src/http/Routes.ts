/**
 * The HTTP endpoints on `@effect/platform`'s `HttpRouter`: session management in Reactor's shapes, capabilities,
 * health and the browser page. `app` wraps them in middleware every request passes: the origin check and
 * `HttpMiddleware.cors`, the body size limit, version headers, the token; every error answers as JSON.
 * (WebSocket upgrades never reach it: see `transport/Upgrade.ts`.)
 */
import {
  FileSystem,
  HttpIncomingMessage,
  HttpMiddleware,
  HttpRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { Effect, Option, ParseResult, Schema } from "effect"
import * as Envelope from "../protocol/Envelope.js"
import * as ServerConfig from "../server/ServerConfig.js"
import * as EndReason from "../session/EndReason.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as Registry from "../transport/Registry.js"
import * as ApiVersion from "./ApiVersion.js"
import * as Auth from "./Auth.js"
import * as Cors from "./Cors.js"
import * as HttpError from "./HttpError.js"
import * as SessionResponse from "./SessionResponse.js"
import * as Static from "./Static.js"

/** `POST /start_session`'s body. */
export const StartBody = Schema.Struct({
  extra_args: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
})

/** `POST /stop_session`'s body. */
export const StopBody = Schema.Struct({ session_id: Schema.String })

const bodyTooLarge = (limit: number, size?: number) =>
  HttpError.make(
    413,
    "body_too_large",
    `the request body ${size === undefined ? "is" : `has ${size} bytes,`} over the limit of ${limit} bytes`,
    { limit, ...(size !== undefined ? { size } : {}) }
  )

/**
 * Reads the JSON body through a schema: an empty body is `{}`; over `maxBodyBytes` is 413 `body_too_large` (read
 * no further than the limit); nesting deeper than `maxDepth` is 400 `nesting_too_deep`; the rest is 400
 * `invalid_request` naming the field.
 */
const body = <A, I>(schema: Schema.Schema<A, I>) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = Number(request.headers["content-length"])
    if (Number.isFinite(declared) && declared > config.maxBodyBytes) return yield* bodyTooLarge(config.maxBodyBytes, declared)
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(FileSystem.Size(config.maxBodyBytes))),
      Effect.mapError((error) =>
        String((error as { cause?: unknown }).cause).includes("maxBytes")
          ? bodyTooLarge(config.maxBodyBytes)
          : HttpError.invalidRequest("the request body could not be read")
      )
    )
    if (Envelope.textTooDeep(text, config.maxDepth)) {
      return yield* HttpError.make(400, "nesting_too_deep", `the body nests more than ${config.maxDepth} levels deep`, {
        limit: config.maxDepth
      })
    }
    const value = yield* Effect.try({
      try: () => (text.trim() === "" ? {} : JSON.parse(text)) as unknown,
      catch: () => HttpError.invalidRequest("the request body is not valid JSON")
    })
    return yield* Schema.decodeUnknown(schema, { errors: "all" })(value).pipe(
      Effect.mapError((error) => {
        const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
          path: issue.path.map(String).join("."),
          message: issue.message.slice(0, 200)
        }))
        return HttpError.invalidRequest(
          "invalid request body: " + issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; "),
          { issues }
        )
      })
    )
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
  const { extra_args } = yield* body(StartBody)
  const reactor = yield* Reactor.Reactor
  const registry = yield* Registry.Registry
  const session = yield* reactor.start(extra_args !== undefined ? { extraArgs: extra_args } : {}).pipe(
    Effect.mapError((error) => HttpError.make(503, "too_many_sessions", error.message, { max_sessions: error.max }))
  )
  yield* registry.register(session)
  return HttpServerResponse.unsafeJson(SessionResponse.started(reactor.model, session))
})

const stopSession = Effect.gen(function*() {
  const { session_id } = yield* body(StopBody)
  return yield* stop(yield* findSession(session_id), "api")
})

const info = Effect.gen(function*() {
  const session = yield* findSession(yield* sessionIdParam)
  const reactor = yield* Reactor.Reactor
  const registry = yield* Registry.Registry
  const state = (yield* registry.state(session.id)) ?? "running"
  return HttpServerResponse.unsafeJson(
    SessionResponse.info(reactor.model, session, state, yield* session.stats, registry.counters(session.id))
  )
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
      return HttpServerResponse.unsafeJson(SessionResponse.health(reactor.model, sessions.length, reactor.options.maxSessions))
    })
  ),
  HttpRouter.get(
    "/capabilities",
    Effect.map(Reactor.Reactor, (reactor) => HttpServerResponse.unsafeJson(SessionResponse.fullCapabilities(reactor.model)))
  ),
  HttpRouter.post("/start_session", startSession),
  HttpRouter.post("/stop_session", stopSession),
  HttpRouter.del("/sessions/:id", Effect.flatMap(Effect.flatMap(sessionIdParam, findSession), (session) => stop(session, "api"))),
  HttpRouter.get("/sessions/:id/info", info),
  HttpRouter.get(
    "/sessions/:id/transport/websocket",
    upgradeRequired(HttpError.make(426, "upgrade_required", "this endpoint is a WebSocket: connect with Upgrade: websocket"))
  ),
  HttpRouter.get(
    "/sessions/:id/transport/rpc",
    upgradeRequired(HttpError.invalidRequest(
      "this endpoint is a WebSocket (the @effect/rpc transport): connect with an upgrade request"
    ))
  ),
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

/** A session path the router did not match (ids longer than its parameter limit): still the session's 404. */
const sessionPath = /^\/sessions\/([^/]+)(\/info|\/transport\/(websocket|rpc))?\/?$/

const pathOf = (url: string) => new URL(url, "http://x").pathname

/** Version headers and the token, as middleware. */
export const gate = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const request = yield* HttpServerRequest.HttpServerRequest
    const versionError = ApiVersion.check(request.headers)
    if (versionError !== undefined) return yield* versionError
    const authError = Auth.check(config.token, request.headers.authorization, new URL(request.url, "http://x").searchParams)
    if (authError !== undefined) return yield* authError
    return yield* app
  })
)

/** Every failure as a JSON answer: `HttpError`s as they are, unknown routes 404, defects 500 (logged with the cause). */
export const errors = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    return yield* app.pipe(
      Effect.catchAll((error: unknown) => {
        if (error instanceof HttpError.HttpError) return Effect.succeed(HttpError.toResponse(error))
        if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
          const path = pathOf(request.url)
          const session = sessionPath.exec(path)
          let id: string | undefined
          try {
            id = session === null ? undefined : decodeURIComponent(session[1]!)
          } catch {
            id = undefined
          }
          return Effect.succeed(HttpError.toResponse(
            id !== undefined ? HttpError.sessionNotFound(id) : HttpError.notFound(`${request.method} ${path}`)
          ))
        }
        return Effect.fail(error)
      }),
      Effect.catchAllCause((cause) =>
        Effect.logError("request failed", cause).pipe(
          Effect.as(HttpServerResponse.unsafeJson({ code: "internal_error", message: "the server failed to answer" }, { status: 500 }))
        )
      )
    )
  })
)

/** Refuses origins CORS does not allow (403 `forbidden_origin`) before anything else runs. */
export const origins = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const request = yield* HttpServerRequest.HttpServerRequest
    const origin = request.headers.origin
    if (origin !== undefined && !Cors.allowed(origin, request.headers.host, config.cors)) {
      return HttpError.toResponse(
        HttpError.make(403, "forbidden_origin", `origin ${origin} is not allowed; add it to the server's cors list`)
      )
    }
    return yield* app
  })
)

/** The app: the endpoints behind the gate, errors as JSON, CORS, the origin check. */
export const app = router.pipe(
  gate,
  errors,
  HttpMiddleware.cors({
    // the origin check ran first: any origin that gets here is allowed
    allowedOrigins: (origin) => typeof origin === "string",
    allowedMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowedHeaders: Cors.allowHeaders.split(", "),
    maxAge: 600
  }),
  origins
)
