/**
 * The HTTP runtime, composed of layers: a reactor over the loaded model, the session registry (liveness), the WebRTC
 * transport and the upgrade listener (the socket transports), and the endpoints on Effect's platform HTTP handler, on
 * one Node HTTP server. Acquired in that order, released in reverse: at shutdown the server stops accepting, every
 * session is stopped cooperatively (clients get `sessionEnded`), remaining sockets are closed, then the model is
 * released.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { type ConfigError, Context, Data, Effect, Exit, Layer, Logger, type LogLevel, Scope } from "effect"
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Isolation from "../host/Isolation.js"
import * as Prometheus from "../http/Prometheus.js"
import * as Routes from "../http/Routes.js"
import * as Upgrade from "../http/Upgrade.js"
import * as Model from "../model/Model.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Events from "../session/Events.js"
import * as Metrics from "../session/Metrics.js"
import * as Reactor from "../session/Reactor.js"
import * as Recorder from "../session/Recorder.js"
import * as Registry from "../session/Registry.js"
import type * as Sampling from "../session/Sampling.js"
import * as Tracing from "../session/Tracing.js"
import * as Uploads from "../session/Uploads.js"
import * as WebRtc from "../transport/WebRtc.js"

/** A running server: where it listens. */
export interface Service {
  /** The bound host and port (the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number }
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string
  /** WebSocket base URL, e.g. `ws://127.0.0.1:8080`. */
  readonly wsUrl: string
  readonly reactor: Reactor.Service
  /** The session registry (liveness, orphaning): a session started outside the HTTP routes is registered here. */
  readonly registry: Registry.Service
  readonly config: ServerConfig.ServerConfig
}

/** The running server's tag. */
export class Server extends Context.Tag("effect-reactor/server/Server")<Server, Service>() {}

/** Starts listening; a busy port or a bad host fails with a message that names them. */
const bind = (server: HttpServer, host: string, port: number) =>
  Effect.async<void, ListenError>((resume) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening)
      const reason = error.code === "EADDRINUSE"
        ? `port ${port} on ${host} is already in use; stop what uses it or pick another port (--port)`
        : error.code === "EACCES"
        ? `no permission to listen on ${host}:${port}; pick a port above 1023`
        : error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND"
        ? `cannot listen on host ${host}: no such address on this machine`
        : `cannot listen on ${host}:${port}: ${error.message}`
      resume(Effect.fail(new ListenError({ message: reason, host, port })))
    }
    const onListening = () => {
      server.off("error", onError)
      resume(Effect.void)
    }
    server.once("error", onError)
    server.once("listening", onListening)
    server.listen({ host, port })
  })

/** The server could not listen: the port is taken, the host is not this machine's. */
export class ListenError extends Data.TaggedError("ListenError")<{
  readonly message: string
  readonly host: string
  readonly port: number
}> {}

/** The reactor's options as the server config sets them. */
export const reactorOptions = (config: ServerConfig.ServerConfig): Reactor.Options => ({
  maxSessions: config.maxSessions,
  stopDeadlineMs: config.stopDeadlineMs,
  exposeModelErrors: config.exposeModelErrors,
  recorder: Metrics.forFlag(config.metrics),
  ...(config.maxFps !== undefined ? { maxFps: config.maxFps } : {})
})

/** The model's sessions in this process (embedding, tests): a model that blocks this thread blocks the server. */
export const inProcess: Layer.Layer<Reactor.Reactor, never, Model.Model | ServerConfig.Config> = Layer.scoped(
  Reactor.Reactor,
  Effect.flatMap(ServerConfig.Config, (config) => Reactor.make(reactorOptions(config)))
)

/** The model's sessions where `isolation` says (`reactor run`: worker threads), configured by the server config. */
export const isolated = (
  isolation: Isolation.Isolation
): Layer.Layer<Reactor.Reactor, unknown, Model.ConfigInput | ServerConfig.Config> =>
  Layer.unwrapEffect(Effect.map(ServerConfig.Config, (config) =>
    Isolation.reactor(
      isolation._tag === "Worker" && isolation.heapMb === undefined
        ? { ...isolation, heapMb: config.workerHeapMb }
        : isolation,
      reactorOptions(config)
    )))

/**
 * Starts listening over the reactor, registry, transports and upgrade listener in context, in the current scope;
 * closing the scope shuts it down gracefully.
 */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const reactor = yield* Reactor.Reactor
  const upgrades = yield* Upgrade.Upgrade
  const registry = yield* Registry.Registry
  const server = createServer()
  // Requests go to the HTTP app (Effect's platform handler); upgrades to the transports' own listener.
  const handler = yield* NodeHttpServer.makeHandler(Routes.app).pipe(Effect.provide(NodeHttpServer.layerContext))
  server.on("request", handler)
  server.on("upgrade", upgrades.listener)
  yield* Effect.acquireRelease(bind(server, config.host, config.port), () =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    }))

  // Released first: stop accepting, stop every session cooperatively (each connection says `sessionEnded` and
  // closes), then terminate whatever socket is still open, so no client can hold the shutdown.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      yield* Effect.logInfo("shutting down: stopping every session")
      server.close()
      yield* reactor.stopAll(EndReason.Shutdown())
      yield* upgrades.allClosed // the connections' `sessionEnded` and close frames have left: each socket closed
      yield* upgrades.terminateAll
      server.closeAllConnections()
    })
  )

  const bound = server.address() as AddressInfo
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address
  const service: Service = {
    address: { host: bound.address, port: bound.port },
    url: `http://${host}:${bound.port}`,
    wsUrl: `ws://${host}:${bound.port}`,
    reactor,
    registry,
    config
  }
  yield* Effect.logInfo(`serving model "${reactor.model.name}" on ${service.url}`)
  return service
})

/**
 * The server over a reactor layer (`inProcess`, `isolated`), its settings left to provide (`ServerConfig.layer`,
 * `layerFromEnv`). Built in order reactor, registry, transports, listener; released in reverse, so the model is
 * released after every session has stopped.
 */
export const layerFrom = <E, R>(
  reactor: Layer.Layer<Reactor.Reactor, E, R>
): Layer.Layer<
  Server,
  E | ListenError | ConfigError.ConfigError | Sampling.InvalidSampler,
  R | ServerConfig.Config
> =>
  Layer.scoped(Server, make).pipe(
    Layer.provide(Layer.mergeAll(WebRtc.layer, Upgrade.layer, Prometheus.layer)),
    Layer.provide(Layer.merge(Uploads.layer, Recorder.layer)),
    Layer.provide(Registry.layer.pipe(Layer.provideMerge(Events.layer))),
    Layer.provide(reactor),
    // Spans exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set: built first, so every layer above runs under
    // its tracer, and released last, so the spans of the shutdown are flushed.
    Layer.provide(Tracing.layerFromEnv("server"))
  )

/** The server as a layer over a model, its sessions in this process. */
export const layer = (options: ServerConfig.Input = {}): Layer.Layer<Server, unknown, Model.Model> =>
  layerWith(inProcess, options)

/** The server as a layer over a reactor (`inProcess`, `isolated`) and the given settings. */
export const layerWith = <E, R>(
  reactor: Layer.Layer<Reactor.Reactor, E, R | ServerConfig.Config>,
  options: ServerConfig.Input = {}
): Layer.Layer<Server, unknown, Exclude<R, ServerConfig.Config>> =>
  layerFrom(reactor).pipe(Layer.provide(ServerConfig.layer(options)))

/** Where the running server listens. */
export const address: Effect.Effect<Service["address"], never, Server> = Effect.map(Server, (server) => server.address)

/** A model to serve: its layer (sessions in this process), or where its sessions run (`Isolation`). */
export type Serving = Layer.Layer<Model.Model, unknown, Model.ConfigInput> | Isolation.Isolation

const isolationOf = (model: Serving): Isolation.Isolation =>
  Layer.isLayer(model)
    ? { _tag: "None", model: model as Layer.Layer<Model.Model, unknown, Model.ConfigInput> }
    : model as Isolation.Isolation

/** Starts a model's server in the current scope (tests, benchmarks); `port: 0` picks a free port. */
export const start = (
  model: Serving,
  options: ServerConfig.Input = {}
): Effect.Effect<Service, unknown, Scope.Scope | Model.ConfigInput> =>
  Effect.map(
    Layer.build(layerWith(isolated(isolationOf(model)), options)),
    Context.get(Server)
  )

/** A server started from plain async code. */
export interface Handle extends Service {
  /** Shuts the server down gracefully (sessions stopped, model released). */
  readonly close: () => Promise<void>
}

/** Starts a model's server from plain async code: `const server = await listen(model, { port: 0 })`. */
export const listen = async (
  model: Serving,
  options: ServerConfig.Input = {},
  configInput: Model.ConfigInputService = { source: "defaults", value: {} },
  /** The least severe log level printed (e.g. `LogLevel.Error` in tests). */
  logLevel?: LogLevel.LogLevel
): Promise<Handle> => {
  const scope = Effect.runSync(Scope.make())
  const service = await Effect.runPromise(
    start(model, options).pipe(
      Effect.provideService(Model.ConfigInput, configInput),
      Scope.extend(scope),
      Effect.tapErrorCause(() => Scope.close(scope, Exit.void)),
      logLevel === undefined ? (self) => self : Logger.withMinimumLogLevel(logLevel)
    )
  )
  const close = Scope.close(scope, Exit.void)
  return {
    ...service,
    close: () => Effect.runPromise(logLevel === undefined ? close : Logger.withMinimumLogLevel(close, logLevel))
  }
}
