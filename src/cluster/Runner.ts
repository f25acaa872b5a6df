/**
 * A runner: the normal HTTP server of a model that also joins the cluster (`reactor run model.ts --join ...`). It
 * serves its runner entity (`RunnerEntity`): the coordinator's `Start` begins a session here (registered like one of
 * `POST /start_session`, so orphaning and every transport apply), `Stop` ends one, `Status` reports the model, the
 * capacity (`maxSessions`), the running sessions and why the last ones ended. Each message must carry the cluster's
 * secret; the server's own `POST /start_session` is closed (`StartGate`): sessions come from the coordinator only.
 * SIGTERM drains: the runner reports `draining` (the coordinator places nothing more there, `Start` is refused), lets
 * its sessions run until they end or `drainMs` passes, stops the rest (`shutdown`), stays in the cluster two heartbeats
 * more so the coordinator reads why each ended, then leaves.
 */
import { RunnerAddress, RunnerStorage } from "@effect/cluster"
import { Context, Duration, Effect, Either, Equal, FiberSet, Layer, Ref, Schedule } from "effect"
import { timingSafeEqual } from "node:crypto"
import * as ServerConfig from "../config/ServerConfig.js"
import type * as Isolation from "../host/Isolation.js"
import * as StartGate from "../http/StartGate.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Selection from "../protocol/Selection.js"
import * as SessionResponse from "../protocol/SessionResponse.js"
import * as Server from "../server/Server.js"
import * as Reactor from "../session/Reactor.js"
import type { ClusterSettings } from "./ClusterSettings.js"
import * as Engine from "./Engine.js"
import { Refused, RunnerEntity, type RunnerStatus } from "./RunnerEntity.js"

/** How many ended sessions a runner remembers for `Status`. */
export const endedKept = 256

/** Whether two secrets are the same, in constant time. */
export const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

const unauthorized = new Refused({
  code: "unauthorized",
  message: "the control message does not carry the cluster's secret"
})

/** What the runner's handlers and its drain share. */
export class RunnerState extends Context.Tag("effect-reactor/cluster/Runner/RunnerState")<RunnerState, {
  readonly draining: Ref.Ref<boolean>
  readonly ended: Ref.Ref<ReadonlyArray<RunnerStatus["ended"][number]>>
  /** The fibers that record each session's end; the runner's, not an entity instance's (the engine may restart one). */
  readonly watchers: FiberSet.FiberSet
}>() {}

const stateLayer = Layer.scoped(
  RunnerState,
  Effect.all({
    draining: Ref.make(false),
    ended: Ref.make<ReadonlyArray<RunnerStatus["ended"][number]>>([]),
    watchers: FiberSet.make()
  })
)

/** The runner entity's handlers over the running server. */
/** Where clients and the coordinator reach this runner's HTTP: `publicUrl`, else the server's own address (with the
 * cluster host in place of a wildcard listen address such as 0.0.0.0). */
const urlOf = (server: Server.Service, address: Address, publicUrl: string | undefined) =>
  publicUrl?.replace(/\/$/, "") ??
    (["0.0.0.0", "::"].includes(server.address.host) ? `http://${address.host}:${server.address.port}` : server.url)

/** A runner's own settings. */
export interface Options {
  /** On SIGTERM, how long sessions may go on before they are stopped. Default 30 s. */
  readonly drainMs?: number | undefined
  /** The URL clients and the coordinator reach this runner's HTTP at (behind a proxy, a public name). */
  readonly publicUrl?: string | undefined
}

const handlers = (settings: ClusterSettings, address: Address, options: Options) =>
  Effect.gen(function*() {
    const server = yield* Server.Server
    const { reactor, registry } = server
    const { draining, ended, watchers } = yield* RunnerState
    const guard = (secret: string) => sameSecret(secret, settings.secret) ? Effect.void : Effect.fail(unauthorized)

    return RunnerEntity.of({
      Start: ({ payload }) =>
        Effect.gen(function*() {
          yield* guard(payload.secret)
          if (yield* Ref.get(draining)) {
            return yield* new Refused({
              code: "draining",
              message: "this runner is draining: it takes no new sessions"
            })
          }
          const selected = Selection.select(payload.supportedTransports, Selection.offered)
          if (Either.isLeft(selected)) {
            return yield* new Refused({ code: selected.left.code, message: selected.left.message })
          }
          const session = yield* reactor.start(payload.extraArgs !== undefined ? { extraArgs: payload.extraArgs } : {})
            .pipe(
              Effect.mapError((error) =>
                new Refused({
                  code: error._tag === "TooManySessions" ? "too_many_sessions" : "model_unavailable",
                  message: error.message
                })
              )
            )
          yield* registry.register(session)
          // its end is remembered for the coordinator's next `Status`
          yield* FiberSet.run(
            watchers,
            Effect.flatMap(session.ended, (reason) =>
              Ref.update(ended, (list) =>
                [...list, { id: session.id, reason: EndReason.code(reason), message: EndReason.describe(reason) }]
                  .slice(-endedKept)))
          )
          return {
            runnerSessionId: session.id,
            response: SessionResponse.started(reactor.model, session, selected.right)
          }
        }),
      Stop: ({ payload }) =>
        Effect.gen(function*() {
          yield* guard(payload.secret)
          const session = yield* Reactor.lookup(reactor, payload.runnerSessionId)
          if (session === undefined) {
            return yield* new Refused({
              code: "session_not_found",
              message: `no session ${JSON.stringify(payload.runnerSessionId)} on this runner`
            })
          }
          const reason = yield* session.stop(EndReason.Stopped({ by: payload.by }))
          return { reason: EndReason.code(reason), message: EndReason.describe(reason) }
        }),
      Status: ({ payload }) =>
        Effect.gen(function*() {
          yield* guard(payload.secret)
          const sessions = yield* reactor.list
          return {
            model: reactor.model.name,
            capacity: reactor.options.maxSessions,
            url: urlOf(server, address, options.publicUrl),
            draining: yield* Ref.get(draining),
            protected: server.config.token !== undefined,
            sessions: sessions.map((session) => session.id),
            ended: yield* Ref.get(ended)
          }
        })
    })
  })

/** Where the runner's cluster socket listens. */
export type Address = Engine.Address

/**
 * The drain, run when the runner is released (SIGTERM, SIGINT) while it is still in the cluster: draining reported,
 * sessions left to end until `drainMs`, the rest stopped, two heartbeats for the coordinator to read the reasons.
 */
const drain = (settings: ClusterSettings, drainMs: number) =>
  Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const { reactor } = yield* Server.Server
      const { draining } = yield* RunnerState
      yield* Ref.set(draining, true)
      const running = (yield* reactor.list).length
      yield* Effect.logInfo(`draining: ${running} session(s) may run up to ${drainMs} ms more`)
      yield* reactor.list.pipe(
        Effect.repeat({ schedule: Schedule.spaced(Duration.millis(100)), until: (sessions) => sessions.length === 0 }),
        Effect.timeout(Duration.millis(drainMs)),
        Effect.ignore
      )
      yield* reactor.stopAll(EndReason.Shutdown())
      yield* Effect.sleep(Duration.millis(2 * settings.heartbeatMs))
      yield* Effect.logInfo("drained: leaving the cluster")
    })
  ))

/**
 * The fence: a runner that has been out of the cluster's list longer than `runnerLostMs` (frozen, cut from the
 * database, its heartbeat late) has had its sessions reported `runner_lost` by the coordinator, so it stops them
 * itself: a session the coordinator gave up on never keeps running unseen. Checked every heartbeat; a late check
 * (the process was frozen) counts the time it missed.
 */
const fence = (settings: ClusterSettings, address: Address) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const storage = yield* RunnerStorage.RunnerStorage
    const { reactor } = yield* Server.Server
    const self = RunnerAddress.make(address.host, address.port)
    let lastSeen = Date.now()
    const check = Effect.gen(function*() {
      const missing = Date.now() - lastSeen
      if (missing > settings.runnerLostMs) {
        const sessions = yield* reactor.list
        if (sessions.length > 0) {
          yield* Effect.logWarning(
            `out of the cluster for ${missing} ms (runner-lost ${settings.runnerLostMs} ms): stopping ${sessions.length} session(s) the coordinator reported lost`
          )
          yield* reactor.stopAll(EndReason.Stopped({ by: `runner lost: out of the cluster for ${missing} ms` }))
        }
      }
      const listed = yield* storage.getRunners.pipe(
        Effect.map((runners) => runners.some(([runner]) => Equal.equals(runner.address, self))),
        Effect.timeout(Duration.millis(settings.heartbeatMs)),
        Effect.orElseSucceed(() => false)
      )
      if (listed) lastSeen = Date.now()
    })
    yield* check.pipe(Effect.repeat(Schedule.spaced(Duration.millis(settings.heartbeatMs))), Effect.forkScoped)
  }))

/**
 * The runner over a running server (`Server.Server` in context): it joins the cluster at `address` and serves the
 * runner entity; released, it drains (up to `drainMs`), then leaves the cluster.
 */
export const layer = (settings: ClusterSettings, address: Address, options: Options = {}) =>
  Layer.merge(drain(settings, options.drainMs ?? defaultDrainMs), fence(settings, address)).pipe(
    Layer.provideMerge(RunnerEntity.toLayer(handlers(settings, address, options), { concurrency: "unbounded" })),
    Layer.provide(Engine.layer(settings, address)),
    Layer.provide(Engine.database(settings)),
    Layer.provide(stateLayer)
  )

/** How long a draining runner lets its sessions run by default. */
export const defaultDrainMs = 30_000

/** A runner's server: the model's server, closed to `POST /start_session`, joined to the cluster. */
export const serve = (
  isolation: Isolation.Isolation,
  options: ServerConfig.Input,
  settings: ClusterSettings,
  address: Address,
  runner: Options = {}
) =>
  layer(settings, address, runner).pipe(
    Layer.provideMerge(Server.layerFrom(Server.isolated(isolation))),
    Layer.provide(ServerConfig.layerFromEnv(options)),
    Layer.provide(Layer.succeed(StartGate.ClusterRunner, true))
  )

/** Runs a runner until interrupted (SIGINT/SIGTERM). */
export const run = (
  isolation: Isolation.Isolation,
  options: ServerConfig.Input,
  settings: ClusterSettings,
  address: Address,
  runner: Options = {}
) => Layer.launch(serve(isolation, options, settings, address, runner))
