/**
 * The middleware every request passes, outermost first: the origin check (403 `forbidden_origin`), CORS
 * (`HttpMiddleware.cors`, in `Routes.app`), errors as JSON, then the gate (version headers, token).
 */
import { HttpMiddleware, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Auth from "./Auth.js"
import * as Cors from "./Cors.js"
import * as HttpError from "./HttpError.js"
import * as OperatorAuth from "./OperatorAuth.js"
import * as UploadRoutes from "./UploadRoutes.js"
import * as VersionCheck from "./VersionCheck.js"

/** A session path the router did not match (ids longer than its parameter limit): still the session's 404. */
const sessionPath = /^\/sessions\/([^/]+)(\/info|\/transport\/(websocket|rpc|webrtc\/(ice_servers|sdp_params)))?\/?$/

const pathOf = (url: string) => new URL(url, "http://x").pathname

/** Version headers and the token, as middleware. */
export const gate = HttpMiddleware.make((app) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const request = yield* HttpServerRequest.HttpServerRequest
    const versionError = VersionCheck.check(request.headers)
    if (versionError !== undefined) return yield* versionError
    // An upload's PUT carries no token (the SDK sends none): its unguessable upload id is its credential.
    if (request.method === "PUT" && pathOf(request.url).startsWith(UploadRoutes.putPath)) return yield* app
    const authError = Auth.check(
      // the operator endpoints take the operator's token
      OperatorAuth.tokenFor(config, pathOf(request.url)),
      request.headers.authorization,
      new URL(request.url, "http://x").searchParams
    )
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
          Effect.as(
            HttpServerResponse.unsafeJson({ code: "internal_error", message: "the server failed to answer" }, {
              status: 500
            })
          )
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
