/**
 * One copy of the model in a worker thread, seen from the server: the thread, the `@effect/rpc` client of its
 * `HostProtocol`, and the moment it is gone. A host is lost when its thread crashes (an uncaught throw, an exit in
 * model code) or is terminated; every call made through `call` then fails at once instead of waiting for an answer
 * that will never come. `terminate` ends the thread whatever its model is doing (a loop that never yields included).
 */
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { RpcClient, type RpcClientError } from "@effect/rpc"
import { Data, Deferred, Effect, Exit, Fiber, FiberRef, Layer, Scope } from "effect"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type * as Overrides from "../model/Overrides.js"
import * as Tracing from "../session/Tracing.js"
import * as HostProtocol from "./HostProtocol.js"

/** Where the model comes from and how its sessions run, as the worker loads it. */
export interface LoadOptions {
  /** The model module's path. */
  readonly module: string
  readonly configSource: string
  readonly config: unknown
  readonly overrides: ReadonlyArray<Overrides.Override>
  /** Sessions this copy may run at most. */
  readonly maxSessions: number
  readonly stopDeadlineMs: number
  readonly maxFps?: number | undefined
  /** Whether the model's own error texts reach clients (`ModelErrors`). Default true. */
  readonly exposeModelErrors?: boolean | undefined
  /** The thread's heap limit (V8's old generation), in MB: a model over it ends its thread. Default `heapMbDefault`. */
  readonly heapMb?: number | undefined
  /** Whether the host tallies its sessions' figures for the server's metrics (`HostProtocol.DrainMetrics`). */
  readonly metrics?: boolean | undefined
}

/** A host's default heap limit: 4 GiB, room for a model's tensors on the heap, a bound on a leak. */
export const heapMbDefault = 4096

/** How often the server pings each host, and how long an answer may take before the host counts as not answering. */
export const heartbeat = { everyMs: 1000, timeoutMs: 5000 } as const

/** The host's thread is gone; `reason` says how (crashed, exited, terminated). */
export class HostLost extends Data.TaggedError("HostLost")<{ readonly reason: string }> {
  override get message() {
    return `the model host is gone: ${this.reason}`
  }
}

/** A model host. */
export interface ModelHost {
  /** The thread's id (for logs). */
  readonly threadId: number
  readonly client: RpcClient.FromGroup<typeof HostProtocol.Protocol, RpcClientError.RpcClientError>
  /** Runs a call to the host; it fails with `HostLost` as soon as the thread is gone. */
  readonly call: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | HostLost, R>
  /** Completes with the reason once the thread is gone. */
  readonly lost: Effect.Effect<string>
  readonly isLost: Effect.Effect<boolean>
  /** Terminates the thread now and waits until it is gone. */
  readonly terminate: (reason: string) => Effect.Effect<void>
  /**
   * Whether the host answers: false while its last ping has gone unanswered for `heartbeat.timeoutMs` (a model is
   * blocking its thread), true again once it answers.
   */
  readonly answering: Effect.Effect<boolean>
  /** Pings the host now: whether it answered within `heartbeat.timeoutMs`. */
  readonly probe: Effect.Effect<boolean>
}

/** The worker's program: tsx first (model modules may be TypeScript), then the host. */
const bootstrap = `
const { workerData } = require("node:worker_threads")
const start = Promise.all(workerData.preload.map((url) => import(url)))
  .then(() => workerData.tsx ? import(workerData.tsx).then((tsx) => tsx.register(workerData.tsconfig ? { tsconfig: workerData.tsconfig } : {})) : undefined)
start.then(() => import(workerData.host)).catch((error) => { setImmediate(() => { throw error }) })
`

/**
 * The big plain-JavaScript dependencies, loaded before tsx's loader is registered: they are then cached as they are
 * and do not pay the loader's per-module cost (it makes a worker's start ~2x slower). Resolved here, where
 * `import.meta.resolve` exists (not under every test runner: then nothing is preloaded).
 */
const preload = (): ReadonlyArray<string> => {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve
  if (typeof resolve !== "function") return []
  try {
    return ["effect", "@effect/rpc", "@effect/platform-node/NodeRuntime", "@effect/platform-node/NodeWorkerRunner"].map(
      (
        specifier
      ) => resolve(specifier)
    )
  } catch {
    return []
  }
}

/** The host program's URL, next to this file, in the same form (TypeScript source or compiled JavaScript). */
const hostUrl = (): string => {
  const self = import.meta.url
  return new URL(self.endsWith(".ts") ? "./HostWorker.ts" : "./HostWorker.js", self).href
}

/**
 * In a checkout (this file is TypeScript source), the repository's tsconfig, as `bin/reactor.mjs` registers it: its
 * `paths` resolve `effect-reactor` to src/ for the examples. An installed package has none and needs none.
 */
const tsconfigPath = (): string | undefined => {
  if (!import.meta.url.endsWith(".ts")) return undefined
  const path = fileURLToPath(new URL("../../tsconfig.json", import.meta.url))
  return existsSync(path) ? path : undefined
}

/** tsx's loader API, when it is installed (it is a dependency of the CLI): model modules may be TypeScript. */
const tsxPath = (): string | undefined => {
  try {
    // Resolved from here (not from the worker's eval'd script), then its ESM build: the CommonJS one cannot register
    // the loader from a worker.
    const cjs = createRequire(import.meta.url).resolve("tsx/esm/api")
    return pathToFileURL(cjs.replace(/\.cjs$/, ".mjs")).href
  } catch {
    return undefined
  }
}

/**
 * Spawns a host and loads the model in it, in the current scope (closing it terminates the thread). Fails with
 * `LoadFailed` when the model cannot load, or `HostLost` when the thread dies while loading.
 */
export const make = (
  options: LoadOptions
): Effect.Effect<ModelHost, HostProtocol.LoadFailed | HostLost, Scope.Scope> =>
  Effect.gen(function*() {
    // The worker logs no more than the server does (its minimum level, e.g. a test's `LogLevel.None`).
    const logLevel = (yield* FiberRef.get(FiberRef.currentMinimumLogLevel)).label
    // ...and in the same format (`--log-format`).
    const logFormat = yield* FiberRef.get(Tracing.logFormat)
    const heapMb = options.heapMb ?? heapMbDefault
    const worker = new Worker(bootstrap, {
      eval: true,
      workerData: {
        host: hostUrl(),
        tsx: tsxPath(),
        tsconfig: tsconfigPath(),
        preload: preload(),
        logLevel,
        logFormat
      },
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
      stdout: false,
      stderr: false
    })
    const lost = yield* Deferred.make<string>()
    let lastError: unknown
    worker.on("error", (error) => {
      lastError = error
    })
    worker.on("exit", (code) => {
      const reason = lastError !== undefined
        ? (lastError as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `it ran out of memory: the model's heap went over its limit of ${heapMb} MB (--worker-heap-mb)`
          : `it crashed: ${lastError instanceof Error ? lastError.message : String(lastError)}`
        : `its thread exited with code ${code}`
      Deferred.unsafeDone(lost, Exit.succeed(reason))
    })
    const threadId = worker.threadId
    const terminate = (reason: string) =>
      Effect.suspend(() => {
        if (lastError === undefined) lastError = new Error(reason)
        void worker.terminate()
        return Effect.asVoid(Deferred.await(lost))
      })
    // Closing: the client's own close asks the worker to stop (the model's `load` resources are released there),
    // bounded by the stop deadline; then the thread is terminated whatever state it is in.
    const clientScope = yield* Scope.make()
    yield* Effect.addFinalizer(() =>
      Scope.close(clientScope, Exit.void).pipe(
        Effect.timeout(options.stopDeadlineMs),
        Effect.ignore,
        Effect.zipRight(terminate("the server closed it"))
      )
    )
    const call = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HostLost, R> =>
      Effect.raceFirst(
        effect,
        Effect.flatMap(Deferred.await(lost), (reason) => Effect.fail(new HostLost({ reason })))
      )

    const protocol = yield* Layer.buildWithScope(
      RpcClient.layerProtocolWorker({ size: 1, concurrency: Number.MAX_SAFE_INTEGER }).pipe(
        Layer.provide(NodeWorker.layerPlatform(() => worker))
      ),
      clientScope
    ).pipe(
      Effect.mapError((error) => new HostLost({ reason: `its thread did not start: ${error.message}` })),
      // Building the protocol waits for the thread's first message, uninterruptibly: a thread that dies first
      // must not leave this waiting.
      Effect.disconnect,
      call
    )
    const client = yield* RpcClient.make(HostProtocol.Protocol).pipe(
      Effect.provide(protocol),
      Scope.extend(clientScope)
    )
    yield* call(client.Load({
      module: options.module,
      configSource: options.configSource,
      config: options.config,
      overrides: options.overrides,
      maxSessions: options.maxSessions,
      stopDeadlineMs: options.stopDeadlineMs,
      ...(options.exposeModelErrors !== undefined ? { exposeModelErrors: options.exposeModelErrors } : {}),
      ...(options.maxFps !== undefined ? { maxFps: options.maxFps } : {}),
      ...(options.metrics === true ? { metrics: true } : {})
    })).pipe(
      Effect.catchTag("RpcClientError", (error) => Effect.fail(new HostLost({ reason: error.message }))),
      Effect.withSpan("model_host.load", { attributes: { "model.module": options.module, "thread.id": threadId } })
    )

    // The heartbeat: a ping every `heartbeat.everyMs`; one unanswered past its timeout marks the host as not
    // answering until it does answer. It ends with the host.
    let answering = true
    const ping = call(client.Ping())
    // Interruptible even when called from an uninterruptible region (a start in `acquireRelease`'s acquire): there
    // the timeout's timer, forked uninterruptible, could not be interrupted when the answer won, and every start
    // waited out the whole timeout.
    const inTime = (fiber: Fiber.Fiber<unknown, unknown>) =>
      Fiber.join(fiber).pipe(
        Effect.timeout(heartbeat.timeoutMs),
        Effect.as(true),
        Effect.catchAll(() => Effect.succeed(false)),
        Effect.interruptible
      )
    yield* Effect.gen(function*() {
      const answer = yield* Effect.fork(ping)
      if (yield* inTime(answer)) answering = true
      else {
        answering = false
        yield* Effect.logWarning(`model host (thread ${threadId}) has not answered for ${heartbeat.timeoutMs} ms`)
        yield* Fiber.join(answer)
        answering = true
        yield* Effect.logInfo(`model host (thread ${threadId}) answers again`)
      }
      yield* Effect.sleep(heartbeat.everyMs)
    }).pipe(Effect.forever, Effect.ignore, Effect.forkIn(clientScope))

    return {
      threadId,
      client,
      call,
      lost: Deferred.await(lost),
      isLost: Deferred.isDone(lost),
      terminate,
      answering: Effect.sync(() => answering),
      probe: Effect.flatMap(Effect.interruptible(Effect.fork(ping)), inTime).pipe(Effect.tap((answered) =>
        Effect.sync(() => {
          if (!answered) answering = false
        })
      ))
    } satisfies ModelHost
  })
