/**
 * The model host: the program a worker thread runs. It loads the model module once (its Layer: config, `load`),
 * runs the model's sessions on an in-process `Reactor`, and serves them to the server over `HostProtocol`. Nothing
 * here touches the network: whatever the model does to this thread, the server's thread stays free.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import { RpcServer } from "@effect/rpc"
import {
  Cause,
  Context,
  Deferred,
  Effect,
  ExecutionStrategy,
  Exit,
  Layer,
  Logger,
  LogLevel,
  type Queue,
  Scope,
  Stream
} from "effect"
import { readlinkSync } from "node:fs"
import { getPriority, setPriority } from "node:os"
import { type MessagePort, workerData } from "node:worker_threads"
import * as ErrorText from "../model/ErrorText.js"
import * as Model from "../model/Model.js"
import * as CommandError from "../protocol/CommandError.js"
import type * as EndReason from "../protocol/EndReason.js"
import type * as SessionId from "../protocol/SessionId.js"
import * as Metrics from "../session/Metrics.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as Tracing from "../session/Tracing.js"
import * as AudioLink from "./AudioLink.js"
import * as FrameLink from "./FrameLink.js"
import * as HostProtocol from "./HostProtocol.js"
import * as InputLink from "./InputLink.js"
import * as ModelModule from "./ModelModule.js"

/** What the worker keeps per session: the session, and the frame and message feeds opened when it started. */
interface Hosted {
  readonly session: Session.Session
  readonly messages: Queue.Dequeue<unknown>
}

const handlers = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const reactor = yield* Deferred.make<Reactor.Service, HostProtocol.LoadFailed>()
  const hosted = new Map<SessionId.SessionId, Hosted>()
  // Ended sessions' last word (their reason and final figures), for calls that arrive after the end.
  const ended = new Map<
    string,
    { readonly reason: EndReason.EndReason; readonly stats: Session.Stats }
  >()

  // The sessions' figures, tallied here and drained by the server (`DrainMetrics`) into its metrics.
  let tally: Metrics.Tally | undefined
  const ready = Deferred.await(reactor)
  const find = (id: SessionId.SessionId) => Effect.sync(() => hosted.get(id))

  return HostProtocol.Protocol.of({
    Load: (request) =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(reactor)) {
          return yield* Effect.map(ready, (r) => ({ name: r.model.name }))
        }
        if (request.metrics === true) tally = Metrics.tally()
        const loaded = yield* ModelModule.load(request.module).pipe(
          Effect.withSpan("model.import", { attributes: { "model.module": request.module } }),
          Effect.flatMap((layer) =>
            Layer.buildWithScope(
              Reactor.layer({
                maxSessions: request.maxSessions,
                stopDeadlineMs: request.stopDeadlineMs,
                ...(request.exposeModelErrors !== undefined ? { exposeModelErrors: request.exposeModelErrors } : {}),
                ...(request.maxFps !== undefined ? { maxFps: request.maxFps } : {}),
                recorder: tally?.recorder
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
          Effect.withSpan("model.load", { attributes: { "model.module": request.module } }),
          Effect.exit
        )
        if (Exit.isFailure(loaded)) {
          const error = new HostProtocol.LoadFailed({
            message: ErrorText.describe(Cause.squash(loaded.cause), request.overrides)
          })
          yield* Deferred.fail(reactor, error)
          return yield* error
        }
        yield* Deferred.succeed(reactor, loaded.value)
        return { name: loaded.value.model.name }
      }),

    Start: ({ audio, extraArgs, frames, id, inputs }) =>
      Effect.gen(function*() {
        const r = yield* ready
        // Frames go to the server on their own port; the link does not drop: when its window is full the pacer
        // waits, and the model with it, so a model never computes frames the boundary would throw away (the
        // server's frame bus drops for slow clients, per client).
        const link = FrameLink.sender(frames as unknown as MessagePort)
        const audioLink = audio === undefined ? undefined : AudioLink.sender(audio as unknown as MessagePort)
        const session = yield* r.start({
          id,
          extraArgs,
          sink: link.send,
          ...(audioLink !== undefined ? { audioSink: audioLink.send } : {})
        }).pipe(Effect.orDie)
        // The message feed opens before the model's first message can be missed; it lives as long as the session.
        const feeds = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        yield* Scope.addFinalizer(feeds, link.close)
        if (audioLink !== undefined) yield* Scope.addFinalizer(feeds, audioLink.close)
        if (inputs !== undefined) {
          // Checked on the server already; checked again by the session (a refusal here is dropped: nobody to tell).
          const close = InputLink.receive(
            inputs as unknown as MessagePort,
            (track, frame) => Effect.runFork(Effect.ignore(session.pushInput(track, frame)))
          )
          yield* Scope.addFinalizer(feeds, Effect.sync(close))
        }
        const messages = yield* session.messages.pipe(Scope.extend(feeds))
        hosted.set(id, { session, messages })
        yield* session.ended.pipe(
          Effect.flatMap((reason) =>
            Effect.map(session.stats, (stats) => {
              ended.set(id, { reason: reason, stats })
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
          ? Effect.fail(
            new CommandError.SessionClosed({ message: "the session has ended; the command was not applied" })
          )
          : entry.session.submit({ type, data, id })),

    Stop: ({ reason, session }) =>
      Effect.flatMap(find(session), (entry) =>
        entry === undefined
          ? Effect.succeed(ended.get(session)?.reason ?? reason)
          : entry.session.stop(reason)),

    Ended: ({ session }) =>
      Effect.flatMap(find(session), (entry) =>
        entry === undefined
          ? Effect.succeed(
            ended.get(session)?.reason ?? { _tag: "ModelFailed" as const, error: "no such session in the model host" }
          )
          : entry.session.ended),

    GetStats: ({ session }) =>
      Effect.flatMap(find(session), (entry) =>
        entry !== undefined
          ? entry.session.stats
          : Effect.suspend(() => {
            const last = ended.get(session)
            return last !== undefined
              ? Effect.succeed(last.stats)
              : Effect.fail(new HostProtocol.NoSuchSession({ session }))
          })),

    Ping: () => Effect.void,

    Viewer: ({ event, session, viewer }) =>
      Effect.flatMap(find(session), (entry) => entry === undefined ? Effect.void : entry.session.viewer(event, viewer)),

    DrainMetrics: () => Effect.sync(() => tally?.drain() ?? []),

    Messages: ({ session }) =>
      Stream.unwrap(
        Effect.map(find(session), (entry) => entry === undefined ? Stream.empty : Stream.fromQueue(entry.messages))
      )
  })
})

/**
 * Lowers this thread's scheduling priority (Linux: nice values are per thread, and `/proc/thread-self` names this
 * thread's id): where a model's loop and the server compete for a core, the server's thread wins, so `/health` and
 * the sockets answer even while a model spins. Elsewhere, or without permission, nothing changes.
 */
const yieldToServer = (niceness: number) => {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop())
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + niceness))
  } catch {
    // not Linux, or not allowed: the thread keeps the process's priority
  }
}

/** The host as a layer: the protocol's handlers over the worker's message port. */
export const layer = RpcServer.layer(HostProtocol.Protocol).pipe(
  Layer.provide(HostProtocol.Protocol.toLayer(handlers)),
  Layer.provide(RpcServer.layerProtocolWorkerRunner),
  Layer.provide(NodeWorkerRunner.layer),
  // This thread's spans go to the same OTLP endpoint as the server's (the environment is the server's).
  Layer.provide(Tracing.layerFromEnv("model-host"))
)

/** Runs the host in this worker thread until the server closes it. */
export const main = (): void => {
  yieldToServer(5)
  layer.pipe(
    Layer.launch,
    Effect.provide(
      Logger.replace(Logger.defaultLogger, Tracing.loggerFor(workerData?.logFormat === "json" ? "json" : "pretty"))
    ),
    // The server's minimum log level, handed over when the thread was spawned.
    Logger.withMinimumLogLevel(
      LogLevel.allLevels.find((level) => level.label === workerData?.logLevel) ?? LogLevel.Info
    ),
    (program) => NodeRuntime.runMain(program, { disablePrettyLogger: true })
  )
}

main()
