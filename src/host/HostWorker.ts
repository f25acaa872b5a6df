/**
 * The model host: the program a worker thread runs. It loads the model module once (its Layer: config, `load`),
 * runs the model's sessions on an in-process `Reactor`, and serves them to the server over `HostProtocol`. Nothing
 * here touches the network: whatever the model does to this thread, the server's thread stays free.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { RpcServer } from "@effect/rpc"
import { Cause, Chunk, Context, Deferred, Effect, ExecutionStrategy, Exit, Layer, Logger, Option, type Queue, Scope, Stream } from "effect"
import * as Fatal from "../cli/Fatal.js"
import * as ModelModule from "../cli/ModelModule.js"
import * as Model from "../model/Model.js"
import * as CommandError from "../session/CommandError.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as HostProtocol from "./HostProtocol.js"

/** Frames buffered for the server before the oldest is dropped (the server's own bus fans them out). */
const forwardBuffer = 8

/** What the worker keeps per session: the session, and the frame and message feeds opened when it started. */
interface Hosted {
  readonly session: Session.Session
  readonly frames: Effect.Effect<ReadonlyArray<HostProtocol.ReceivedFrame>>
  readonly messages: Queue.Dequeue<unknown>
}

const handlers = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const reactor = yield* Deferred.make<Reactor.Service, HostProtocol.LoadFailed>()
  const hosted = new Map<string, Hosted>()
  // Ended sessions' last word (their reason and final figures), for calls that arrive after the end.
  const ended = new Map<string, { readonly reason: typeof HostProtocol.EndReasonSchema.Type; readonly stats: Session.Stats }>()

  const ready = Deferred.await(reactor)
  const find = (id: string) => Effect.sync(() => hosted.get(id))

  return HostProtocol.Protocol.of({
    Load: (request) =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(reactor)) {
          return yield* Effect.map(ready, (r) => ({ name: r.model.name }))
        }
        const loaded = yield* ModelModule.load(request.module).pipe(
          Effect.flatMap((layer) =>
            Layer.buildWithScope(
              Reactor.layer({
                maxSessions: request.maxSessions,
                stopDeadlineMs: request.stopDeadlineMs,
                ...(request.maxFps !== undefined ? { maxFps: request.maxFps } : {})
              }).pipe(
                Layer.provide(layer),
                Layer.provide(Model.ConfigInput.layer({
                  source: request.configSource,
                  value: request.config,
                  overrides: request.overrides
                }))
              ),
              scope
            )
          ),
          Effect.map(Context.get(Reactor.Reactor)),
          Effect.exit
        )
        if (Exit.isFailure(loaded)) {
          const error = new HostProtocol.LoadFailed({ message: Fatal.describe(Cause.squash(loaded.cause), request.overrides) })
          yield* Deferred.fail(reactor, error)
          return yield* error
        }
        yield* Deferred.succeed(reactor, loaded.value)
        return { name: loaded.value.model.name }
      }),

    Start: ({ extraArgs, id }) =>
      Effect.gen(function*() {
        const r = yield* ready
        const session = yield* r.start({ id, extraArgs }).pipe(Effect.orDie)
        // The feeds open before the model's first frame can be missed; they live as long as the session.
        const feeds = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const subscription = yield* session.frames(forwardBuffer).pipe(Scope.extend(feeds))
        const messages = yield* session.messages.pipe(Scope.extend(feeds))
        hosted.set(id, { session, frames: subscription.takeBatch, messages })
        yield* session.ended.pipe(
          Effect.flatMap((reason) =>
            Effect.map(session.stats, (stats) => {
              ended.set(id, { reason: HostProtocol.fromEndReason(reason), stats })
              hosted.delete(id)
            })
          ),
          Effect.ensuring(Scope.close(feeds, Exit.void)),
          Effect.forkIn(scope)
        )
        return { startedAt: session.startedAt }
      }),

    Submit: ({ data, id, session, type }) =>
      Effect.flatMap(find(session), (entry) =>
        entry === undefined
          ? Effect.fail(new CommandError.SessionClosed({ message: "the session has ended; the command was not applied" }))
          : entry.session.submit({ type, data, id })),

    Stop: ({ reason, session }) =>
      Effect.flatMap(find(session), (entry) =>
        entry === undefined
          ? Effect.succeed(ended.get(session)?.reason ?? reason)
          : Effect.map(entry.session.stop(HostProtocol.toEndReason(reason)), HostProtocol.fromEndReason)),

    Ended: ({ session }) =>
      Effect.flatMap(find(session), (entry) =>
        entry === undefined
          ? Effect.succeed(ended.get(session)?.reason ?? { _tag: "ModelFailed" as const, error: "no such session in the model host" })
          : Effect.map(entry.session.ended, HostProtocol.fromEndReason)),

    GetStats: ({ session }) =>
      Effect.flatMap(find(session), (entry) =>
        entry !== undefined
          ? entry.session.stats
          : Effect.suspend(() => {
            const last = ended.get(session)
            return last !== undefined ? Effect.succeed(last.stats) : Effect.fail(new HostProtocol.NoSuchSession({ session }))
          })),

    Frames: ({ session }) =>
      Stream.unwrap(Effect.map(find(session), (entry) =>
        entry === undefined
          ? Stream.empty
          // The subscription's take is interrupted when the session ends: the stream ends there.
          : Stream.repeatEffectChunkOption(
            entry.frames.pipe(
              Effect.map(Chunk.unsafeFromArray),
              Effect.catchAllCause(() => Effect.fail(Option.none()))
            )
          ))),

    Messages: ({ session }) =>
      Stream.unwrap(Effect.map(find(session), (entry) =>
        entry === undefined ? Stream.empty : Stream.fromQueue(entry.messages)))
  })
})

/** The host as a layer: the protocol's handlers over the worker's message port. */
export const layer = RpcServer.layer(HostProtocol.Protocol).pipe(
  Layer.provide(HostProtocol.Protocol.toLayer(handlers)),
  Layer.provide(RpcServer.layerProtocolWorkerRunner),
  Layer.provide(NodeWorkerRunner.layer)
)

/** Runs the host in this worker thread until the server closes it. */
export const main = (): void =>
  layer.pipe(
    Layer.launch,
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: false }))),
    (program) => NodeRuntime.runMain(program, { disablePrettyLogger: true })
  )

main()
