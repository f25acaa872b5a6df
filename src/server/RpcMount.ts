/**
 * The mount point of the typed `@effect/rpc` transport, `GET /sessions/{id}/transport/rpc` (`RpcTransport.handle`).
 * The connection takes part in liveness like a WebSocket: it attaches to the session, a newer one replaces it, and
 * when it ends the session is orphaned. A request that is not a WebSocket upgrade is refused before it attaches, so it
 * cannot take a live connection's place.
 */
import { HttpServerRequest } from "@effect/platform"
import { Deferred, Effect } from "effect"
import type * as Model from "../model/Model.js"
import type * as Session from "../session/Session.js"
import * as HttpError from "./HttpError.js"
import * as Registry from "./Registry.js"
import * as RpcTransport from "./RpcTransport.js"

/** Serves the RPC transport of a session (the request is the upgrade request). */
export const serve = (session: Session.Session, model: Model.Declared) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if ((request.headers["upgrade"] ?? "").toLowerCase() !== "websocket") {
      return yield* HttpError.invalidRequest("the rpc transport is a WebSocket: send an upgrade request")
    }
    const registry = yield* Registry.Registry
    const replaced = yield* Deferred.make<void>()
    const connection: Registry.Connection = { replace: Deferred.succeed(replaced, undefined).pipe(Effect.asVoid) }
    return yield* Effect.acquireUseRelease(
      registry.attach(session, connection),
      () => Effect.raceFirst(RpcTransport.handle(session, model), Effect.zipRight(Deferred.await(replaced), Effect.interrupt)),
      () => registry.detach(session, connection)
    )
  })
