/**
 * The HTTP runtime, composed: a reactor over the loaded model, the session registry (liveness), the WebSocket
 * transport on the Node HTTP server, and the endpoints on Effect's HTTP server. Acquired in that order, released in
 * reverse: at shutdown the server stops accepting, every session is stopped cooperatively (clients get
 * `sessionEnded`), remaining sockets are closed, then the model is released.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Exit, Layer, Logger, type LogLevel, Scope } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Model from "../model/Model.js"
import * as EndReason from "../session/EndReason.js"
import * as Reactor from "../session/Reactor.js"
import * as Registry from "./Registry.js"
import * as Routes from "./Routes.js"
import * as ServerConfig from "./ServerConfig.js"
import * as WsUpgrade from "./WsUpgrade.js"
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
  readonly config: ServerConfig.ServerConfig
}

/** The running server's tag. */
export class Server extends Context.Tag("effect-reactor/server/Server")<Server, Service>() {}

/** Starts the server in the current scope; closing the scope shuts it down gracefully. */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const reactor = yield* Reactor.make({
    maxSessions: config.maxSessions,
    stopDeadlineMs: config.stopDeadlineMs,
    ...(config.maxFps !== undefined ? { maxFps: config.maxFps } : {})
  })
  const registry = yield* Registry.make
  const base = Context.make(ServerConfig.Config, config).pipe(
    Context.add(Reactor.Reactor, reactor),
    Context.add(Registry.Registry, registry)
  )
  const context = Context.add(base, WebRtc.WebRtc, yield* Effect.provide(WebRtc.make, base))
  const server = createServer()
  yield* WsUpgrade.install(server).pipe(Effect.provide(context))
  const http = yield* NodeHttpServer.make(() => server, { host: config.host, port: config.port })
  yield* http.serve(Routes.app.pipe(Effect.provide(context)))

  // Released first: stop accepting, stop every session cooperatively, then drop what is still connected.
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      yield* Effect.logInfo("shutting down: stopping every session")
      server.close()
      yield* reactor.stopAll(EndReason.Shutdown())
      yield* Effect.sleep(20) // lets the sockets' `sessionEnded` and close frames leave
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
    config
  }
  yield* Effect.logInfo(`serving model "${reactor.model.name}" on ${service.url}`)
  return service
})

/** The server as a layer over a model. */
export const layer = (options: ServerConfig.Input = {}): Layer.Layer<Server, unknown, Model.Model> =>
  Layer.scoped(Server, make).pipe(Layer.provide(ServerConfig.layer(options)))

/** Where the running server listens. */
export const address: Effect.Effect<Service["address"], never, Server> = Effect.map(Server, (server) => server.address)

/** Starts a model's server in the current scope (tests, benchmarks); `port: 0` picks a free port. */
export const start = (
  model: Layer.Layer<Model.Model, unknown, Model.ConfigInput>,
  options: ServerConfig.Input = {}
): Effect.Effect<Service, unknown, Scope.Scope | Model.ConfigInput> =>
  Effect.map(Layer.build(layer(options).pipe(Layer.provide(model))), Context.get(Server))

/** A server started from plain async code. */
export interface Handle extends Service {
  /** Shuts the server down gracefully (sessions stopped, model released). */
  readonly close: () => Promise<void>
}

/** Starts a model's server from plain async code: `const server = await listen(model, { port: 0 })`. */
export const listen = async (
  model: Layer.Layer<Model.Model, unknown, Model.ConfigInput>,
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
