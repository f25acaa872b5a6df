/**
 * The mount point of the typed `@effect/rpc` transport, `GET /sessions/{id}/transport/rpc`. Its implementation lives
 * in `RpcTransport.ts` (another module, `handle(session, model)`); until that module exists the route answers 501.
 * The connection takes part in liveness like a WebSocket: it attaches to the session, a newer one replaces it, and
 * when it ends the session is orphaned.
 */
import { Deferred, Effect } from "effect"
import type * as Model from "../model/Model.js"
import type * as Session from "../session/Session.js"
import * as HttpError from "./HttpError.js"
import * as Registry from "./Registry.js"

type Handle = (session: Session.Session, model: Model.Loaded) => Effect.Effect<any, any, any>

// A variable specifier: the module is optional, so neither tsc nor the bundler may require it.
const specifier = "./RpcTransport.js"

const load: Effect.Effect<Handle | undefined> = Effect.promise(() =>
  import(/* @vite-ignore */ specifier).then(
    (mod: { readonly handle?: unknown }) => (typeof mod.handle === "function" ? (mod.handle as Handle) : undefined),
    () => undefined
  )
)

/** Serves the RPC transport of a session (the request is the upgrade request). */
export const serve = (session: Session.Session, model: Model.Loaded) =>
  Effect.gen(function*() {
    const handle = yield* load
    if (handle === undefined) {
      return yield* HttpError.make(501, "not_implemented", "the rpc transport is not available in this build; use the websocket transport")
    }
    const registry = yield* Registry.Registry
    const replaced = yield* Deferred.make<void>()
    const connection: Registry.Connection = { replace: Deferred.succeed(replaced, undefined).pipe(Effect.asVoid) }
    return yield* Effect.acquireUseRelease(
      registry.attach(session, connection),
      () => Effect.raceFirst(handle(session, model), Effect.zipRight(Deferred.await(replaced), Effect.interrupt)),
      () => registry.detach(session, connection)
    )
  })
