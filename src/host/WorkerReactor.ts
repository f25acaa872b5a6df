/**
 * The reactor of a model that runs apart from the server: `workers` copies of the model, each loaded once in its own
 * worker thread (`ModelHost`), serving sessions that the server sees as ordinary ones (`RemoteSession`). A new
 * session goes to the least-loaded copy that is ready. A copy whose thread crashes, or that is terminated because a
 * session did not stop within its deadline, takes its sessions with it (they end with a reason that says so) and is
 * loaded again in a fresh thread before it takes a new session; meanwhile `status` is `loading`.
 *
 * The server's thread only imports the model module to read its declarations (`Model.declarations`): its name, its
 * commands and their UI schema. The model's config is decoded and its `load` runs only in the workers.
 */
import { Data, Deferred, Effect, ExecutionStrategy, Exit, FiberMap, Layer, Option, Ref, Schedule, Scope } from "effect"
import * as Model from "../model/Model.js"
import type * as Overrides from "../model/Overrides.js"
import * as EndReason from "../protocol/EndReason.js"
import * as SessionId from "../protocol/SessionId.js"
import * as Metrics from "../session/Metrics.js"
import * as ModelErrors from "../session/ModelErrors.js"
import * as Reactor from "../session/Reactor.js"
import * as Session from "../session/Session.js"
import type * as HostProtocol from "./HostProtocol.js"
import * as ModelHost from "./ModelHost.js"
import * as ModelModule from "./ModelModule.js"
import * as RemoteSession from "./RemoteSession.js"

/** Options of a worker-hosted reactor. */
export interface Options extends Reactor.Options {
  /** The model module's path (a `.ts` or `.js` file exporting the layer `Model.make` returned). */
  readonly module: string
  /** The model's raw config and where it came from. */
  readonly config?: {
    readonly source: string
    readonly value: unknown
    readonly overrides?: ReadonlyArray<Overrides.Override>
  }
  /** Copies of the model, each in its own thread, each loaded once. Default 1. */
  readonly workers?: number | undefined
  /** Each worker thread's heap limit in MB (`ModelHost.heapMbDefault` by default). */
  readonly workerHeapMb?: number | undefined
  /**
   * How long a start may wait for a copy of the model (being loaded again) and for its answer, before it is
   * refused with `ModelUnavailable`. Default 30 s.
   */
  readonly startTimeoutMs?: number | undefined
}

/** The model did not load (in the worker or, for its declarations, here). */
export class HostLoadError extends Data.TaggedError("HostLoadError")<{ readonly message: string }> {}

/** One copy of the model: its host while it is ready, and its sessions. */
interface Slot {
  readonly index: number
  host: ModelHost.ModelHost | undefined
  ready: Deferred.Deferred<ModelHost.ModelHost>
  readonly sessions: Map<SessionId.SessionId, RemoteSession.RemoteSession>
  /** Sessions placed on this copy and still starting: they count toward its load, so concurrent starts spread out. */
  starting: number
}

/** Builds the reactor in the current scope: every copy is loaded before it returns. */
export const make = (options: Options): Effect.Effect<Reactor.Service, HostLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const layer = yield* ModelModule.load(options.module).pipe(
      Effect.mapError((error) => new HostLoadError({ message: error.message }))
    )
    const declared = yield* Model.declarations(layer).pipe(
      Effect.mapError((error) =>
        new HostLoadError({
          message: error instanceof Model.NotAModel
            ? `model module ${options.module}: its model is not a layer made by Model.make, so it cannot run in a worker (use --isolation none)`
            : `model module ${options.module}: its declarations could not be read: ${
              error instanceof Error ? error.message : String(error)
            }`
        })
      )
    )
    const maxSessions = options.maxSessions ?? 1
    const stopDeadlineMs = options.stopDeadlineMs ?? 5000
    const workers = Math.max(1, Math.floor(options.workers ?? 1))
    const loadOptions: ModelHost.LoadOptions = {
      module: options.module,
      configSource: options.config?.source ?? "defaults",
      config: options.config?.value ?? {},
      overrides: options.config?.overrides ?? [],
      maxSessions,
      stopDeadlineMs,
      maxFps: options.maxFps,
      heapMb: options.workerHeapMb,
      exposeModelErrors: options.exposeModelErrors,
      metrics: options.recorder !== undefined && options.recorder !== Metrics.off
    }
    const recorder = options.recorder ?? Metrics.off
    const metricsOn = recorder !== Metrics.off
    const startTimeoutMs = options.startTimeoutMs ?? 30_000
    const lives = yield* FiberMap.make<string>()
    const shuttingDown = yield* Ref.make(false)
    const slots: Array<Slot> = []
    let reserved = 0

    const sessionsOf = () => slots.flatMap((slot) => [...slot.sessions.values()])

    /** Loads a fresh host into a slot; watches it, so that its loss ends its sessions and loads it again. */
    const spawn = (slot: Slot): Effect.Effect<void, HostProtocol.LoadFailed | ModelHost.HostLost> =>
      Effect.gen(function*() {
        const hostScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
        const loadStart = Date.now()
        const host = yield* ModelHost.make(loadOptions).pipe(
          Scope.extend(hostScope),
          Effect.tapErrorCause(() => Scope.close(hostScope, Exit.void))
        )
        recorder.hostLoaded(Date.now() - loadStart)
        slot.host = host
        yield* Deferred.succeed(slot.ready, host)
        yield* Effect.logInfo(`model "${declared.name}" loaded in worker ${slot.index} (thread ${host.threadId})`)
        yield* host.lost.pipe(
          Effect.flatMap((reason) => onLost(slot, host, reason, hostScope)),
          Effect.forkIn(scope)
        )
      })

    /** Keeps trying to load a slot again after its host was lost (a model that fails to load is retried). */
    const reload = (slot: Slot, cause: string) =>
      spawn(slot).pipe(
        Effect.withSpan("model_host.restart", { attributes: { "worker.index": slot.index, "restart.cause": cause } }),
        Effect.tapError((error) =>
          Effect.logError(`worker ${slot.index}: the model did not load again: ${error.message}`)
        ),
        Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.union(Schedule.spaced("30 seconds")))),
        Effect.ignore,
        Effect.forkIn(scope)
      )

    const onLost = (slot: Slot, host: ModelHost.ModelHost, reason: string, hostScope: Scope.CloseableScope) =>
      Effect.gen(function*() {
        if (slot.host !== host) return
        slot.host = undefined
        slot.ready = yield* Deferred.make<ModelHost.ModelHost>()
        if (yield* Ref.get(shuttingDown)) recorder.sink.add(Metrics.defs.modelHostsAlive, -1)
        else recorder.hostLost(lossCause(reason))
        const orphans = [...slot.sessions.values()]
        yield* Effect.logWarning(
          `worker ${slot.index} is gone (${reason}): ${orphans.length} session(s) end; loading it again`
        )
        // A crash's message is the model's own text: it reaches clients only when the server exposes model errors.
        const crash = /^it crashed: /.exec(reason)
        const told = crash === null || (options.exposeModelErrors ?? true)
          ? reason
          : yield* ModelErrors.report(false, "it crashed", reason.slice(crash[0].length))
        yield* Effect.forEach(
          orphans,
          (session) => session.abandon(EndReason.ModelFailed({ error: `its model host is gone: ${told}` })),
          { discard: true }
        )
        yield* Scope.close(hostScope, Exit.void)
        if (!(yield* Ref.get(shuttingDown))) yield* reload(slot, lossCause(reason))
      })

    for (let index = 0; index < workers; index++) {
      slots.push({
        index,
        host: undefined,
        ready: yield* Deferred.make<ModelHost.ModelHost>(),
        sessions: new Map(),
        starting: 0
      })
    }
    yield* Effect.forEach(slots, spawn, { concurrency: "unbounded", discard: true }).pipe(
      Effect.mapError((error) => new HostLoadError({ message: error.message }))
    )

    /**
     * The least-loaded ready copy that answers: a copy whose heartbeat is unanswered is skipped, and the chosen one is
     * pinged first (a model may have blocked its thread since its last heartbeat). While every copy is loading, waits
     * for one, within the start's deadline. No copy answering is a `ModelUnavailable`, at once.
     */
    const load = (slot: Slot) => slot.sessions.size + slot.starting
    const pick = (deadline: number): Effect.Effect<Slot, Reactor.ModelUnavailable> =>
      Effect.gen(function*() {
        const skipped = new Set<Slot>()
        while (true) {
          const ready = slots.filter((slot) => slot.host !== undefined && !skipped.has(slot))
          if (ready.length === 0 && skipped.size > 0) {
            return yield* new Reactor.ModelUnavailable({
              message:
                `no copy of the model is answering: ${
                  skipped.size === 1 ? "its worker thread is" : `their ${skipped.size} worker threads are`
                } blocked by the model (a command handler or loop that never yields); the session was not started, ` +
                "try again later"
            })
          }
          if (ready.length === 0) {
            const loaded = yield* Effect.raceAll(slots.map((slot) => Deferred.await(slot.ready))).pipe(
              Effect.timeout(Math.max(0, deadline - Date.now())),
              Effect.option,
              // a start may run uninterruptible (`acquireRelease`): the losers must still be interrupted at once
              Effect.interruptible
            )
            if (Option.isNone(loaded)) {
              return yield* new Reactor.ModelUnavailable({
                message: `the model is being loaded again and was not ready within ${startTimeoutMs} ms; ` +
                  "the session was not started, try again later"
              })
            }
            continue
          }
          const slot = ready.reduce((best, slot) => (load(slot) < load(best) ? slot : best))
          // Counted at once, so that concurrent starts spread out while this one pings.
          slot.starting++
          if ((yield* slot.host!.answering) && (yield* slot.host!.probe)) return slot
          slot.starting--
          skipped.add(slot)
        }
      })

    const startOn = (
      slot: Slot,
      startOptions: { readonly id?: SessionId.SessionId; readonly extraArgs?: Readonly<Record<string, unknown>> },
      deadline: number
    ) =>
      Effect.gen(function*() {
        const host = slot.host!
        const id = startOptions.id ?? SessionId.make()
        const started = yield* Deferred.make<
          RemoteSession.RemoteSession,
          ModelHost.HostLost | HostProtocol.LoadFailed
        >()
        // The session's life: its streams from the host in a scope of its own, held in the FiberMap until it ends.
        yield* FiberMap.run(
          lives,
          id,
          Effect.gen(function*() {
            const session = yield* RemoteSession.make(host, {
              id,
              extraArgs: startOptions.extraArgs ?? {},
              inputs: declared.inputs,
              outputs: declared.outputs,
              stopDeadlineMs,
              recycle: (why) => host.terminate(why),
              recorder: metricsOn ? recorder : undefined
            })
            slot.sessions.set(id, session)
            yield* Deferred.succeed(started, session)
            yield* session.ended
          }).pipe(
            Effect.onError((cause) => Deferred.failCause(started, cause as any)),
            Effect.ensuring(Effect.sync(() => slot.sessions.delete(id))),
            Effect.scoped,
            Effect.annotateLogs("session", id)
          )
        )
        return yield* Deferred.await(started).pipe(
          Effect.timeoutFail({
            duration: Math.max(0, deadline - Date.now()),
            onTimeout: () =>
              new Reactor.ModelUnavailable({
                message: `the model's worker did not start the session within ${startTimeoutMs} ms; ` +
                  "the session was not started, try again later"
              })
          }),
          // interruptible even in an uninterruptible start (`acquireRelease`): the timer must not be waited out
          // when the answer wins
          Effect.interruptible,
          // No answer in time: the start is given up; should the host start the session later, it is stopped then.
          Effect.tapErrorTag("ModelUnavailable", () =>
            Effect.zipRight(
              FiberMap.remove(lives, id),
              host.call(host.client.Stop({ session: id, reason: EndReason.Stopped({ by: "server" }) })).pipe(
                Effect.ignore,
                Effect.forkIn(scope)
              )
            ))
        )
      })

    const stopAll = (reason: EndReason.EndReason) =>
      Effect.forEach(sessionsOf(), (session) => session.stop(reason), { concurrency: "unbounded", discard: true })
    // Shutdown: no copy is loaded again from here on (a host terminated for a frozen session stays gone), then every
    // session stops within its deadline.
    yield* Effect.addFinalizer(() => Effect.zipRight(Ref.set(shuttingDown, true), stopAll(EndReason.Shutdown())))

    const workerStates = Effect.forEach(slots, (slot) =>
      Effect.map(
        slot.host === undefined ? Effect.succeed(undefined) : slot.host.answering,
        (answering): Reactor.WorkerState => ({
          worker: slot.index,
          state: answering === undefined ? "loading" : answering ? "ok" : "unresponsive",
          sessions: slot.sessions.size
        })
      ))

    const service: Reactor.Service = {
      model: declared,
      options: { maxSessions, stopDeadlineMs },
      status: Effect.map(
        workerStates,
        (states): Reactor.Status =>
          states.some((worker) => worker.state === "unresponsive")
            ? "degraded"
            : states.some((worker) => worker.state === "loading")
            ? "loading"
            : "ok"
      ),
      workers: workerStates,
      start: (startOptions = {}) =>
        Effect.gen(function*() {
          if (sessionsOf().length + reserved >= maxSessions) {
            return yield* new Reactor.TooManySessions({ max: maxSessions })
          }
          reserved++
          const deadline = Date.now() + startTimeoutMs
          const session = yield* Effect.gen(function*() {
            // A host lost between the pick and the start: the next pick waits for a fresh one.
            const slot = yield* pick(deadline)
            return yield* startOn(slot, startOptions, deadline).pipe(
              Effect.ensuring(Effect.sync(() => slot.starting--))
            )
          }).pipe(
            Effect.retry({ times: 2, while: (error) => error._tag === "HostLost" }),
            Effect.catchIf((error) => error._tag !== "ModelUnavailable", Effect.die),
            Effect.tapError((error) => Effect.logWarning(`a session was not started: ${error.message}`)),
            Effect.ensuring(Effect.sync(() => reserved--))
          )
          return session as Session.Session
        }).pipe(Effect.withSpan("WorkerReactor.start")),
      get: (id) => Effect.sync(() => slots.find((slot) => slot.sessions.has(id))?.sessions.get(id)),
      list: Effect.sync(sessionsOf),
      stopAll,
      // Each host's tally since the last drain, replayed into this thread's metrics; a host that does not answer
      // within a second (its model blocks its thread) is left for the next scrape.
      collectMetrics: Effect.forEach(
        slots,
        (slot) =>
          slot.host === undefined || !metricsOn
            ? Effect.void
            : slot.host.call(slot.host.client.DrainMetrics()).pipe(
              Effect.timeout(1000),
              Effect.map((drained) => Metrics.replay(drained, recorder.sink)),
              Effect.ignore
            ),
        { concurrency: "unbounded", discard: true }
      )
    }
    return service
  })

/** A lost host's cause, as the restarts metric labels it. */
const lossCause = (reason: string): string =>
  reason.includes("did not stop within")
    ? "deadline"
    : reason.startsWith("it ran out of memory")
    ? "out_of_memory"
    : reason.startsWith("it crashed")
    ? "crash"
    : "exit"

/** The worker-hosted reactor as a layer. */
export const layer = (options: Options): Layer.Layer<Reactor.Reactor, HostLoadError> =>
  Layer.scoped(Reactor.Reactor, make(options))
