/**
 * WebSocket upgrades: the Node HTTP server's `upgrade` listener, one `ws` server for both socket transports
 * (`/sessions/{id}/transport/websocket` and `/sessions/{id}/transport/rpc`). The HTTP app never sees upgrades, so
 * nothing is patched and every socket is ours to close at shutdown. Checks: version headers and origin answer in HTTP
 * (before the upgrade), as do the token and the session for the RPC transport; for the WebSocket transport the token,
 * session and query are answered on the socket (`error` then a 44xx close), since a browser cannot read an HTTP
 * refusal of a WebSocket.
 */
import { Context, Effect, FiberSet, Layer } from "effect"
import { type IncomingMessage, STATUS_CODES } from "node:http"
import type { Duplex } from "node:stream"
import { type WebSocket, WebSocketServer } from "ws"
import * as ServerConfig from "../config/ServerConfig.js"
import * as CloseCode from "../protocol/CloseCode.js"
import * as FrameHeader from "../protocol/FrameHeader.js"
import * as Fibers from "../session/Fibers.js"
import * as Reactor from "../session/Reactor.js"
import type * as Registry from "../session/Registry.js"
import * as Connection from "../transport/Connection.js"
import * as FrameCodec from "../transport/FrameCodec.js"
import * as RpcTransport from "../transport/RpcTransport.js"
import * as WsTransport from "../transport/WsTransport.js"
import * as Auth from "./Auth.js"
import * as Cors from "./Cors.js"
import * as HttpError from "./HttpError.js"
import * as VersionCheck from "./VersionCheck.js"

const route = /^\/sessions\/([^/]+)\/transport\/(websocket|rpc)\/?$/

const refuseHttp = (socket: Duplex, error: HttpError.HttpError) => {
  const body = JSON.stringify(error.body)
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

/** The upgrade listener, and the shutdown of every socket it accepted. */
export interface Upgrades {
  readonly listener: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
  /**
   * Completes once every socket accepted so far has closed: after the sessions ended, each connection said
   * `sessionEnded` and closed its socket (terminated after `WsTransport.closeGraceMs` without an answer). Waits at most
   * twice that grace, a last resort.
   */
  readonly allClosed: Effect.Effect<void>
  /** Terminates every socket still open (after the sessions said `sessionEnded`). */
  readonly terminateAll: Effect.Effect<void>
}

/** The upgrade listener's tag. */
export class Upgrade extends Context.Tag("effect-reactor/http/Upgrade")<Upgrade, Upgrades>() {}

/**
 * Builds the upgrade listener. The transports' fibers live in a `FiberSet` of the current scope; closing the scope
 * interrupts them and terminates every socket.
 */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const reactor = yield* Reactor.Reactor
  const runFork = yield* FiberSet.makeRuntime<ServerConfig.Config | Reactor.Reactor | Registry.Registry>()
  // A model with input tracks takes binary frames from clients: the payload limit grows to fit its largest one.
  const maxPayload = Math.max(config.maxPayloadBytes, FrameHeader.maxInputBytes(reactor.model.inputs))
  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false })
  const terminateAll = Effect.sync(() => {
    for (const client of wss.clients) client.terminate()
  })
  yield* Effect.addFinalizer(() => terminateAll)
  const everyClosed = Effect.async<void>((resume) => {
    let open = 0
    const closed = () => {
      if (--open === 0) resume(Effect.void)
    }
    for (const client of wss.clients) {
      if (client.readyState === 3) continue
      open++
      client.once("close", closed)
    }
    if (open === 0) resume(Effect.void)
    return Effect.sync(() => {
      for (const client of wss.clients) client.off("close", closed)
    })
  })
  const allClosed = Effect.ignore(Effect.timeout(everyClosed, 2 * WsTransport.closeGraceMs))

  const accept = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? "/", "http://x")
    const match = route.exec(url.pathname)
    if (match === null) return refuseHttp(socket, HttpError.notFound(`upgrade of ${url.pathname}`))
    let sessionId: string
    try {
      sessionId = decodeURIComponent(match[1]!)
    } catch {
      return refuseHttp(socket, HttpError.invalidRequest("the session id in the path is not valid"))
    }
    const versionError = VersionCheck.check(request.headers)
    if (versionError !== undefined) return refuseHttp(socket, versionError)
    const origin = request.headers.origin
    if (!Cors.allowed(origin, request.headers.host, config.cors)) {
      return refuseHttp(
        socket,
        HttpError.make(403, "forbidden_origin", `origin ${origin} is not allowed; add it to the server's cors list`)
      )
    }
    socket.on("error", () => {})
    const authError = Auth.check(config.token, request.headers.authorization, url.searchParams, sessionId)
    const role = Connection.parseRole(url.searchParams)
    if (match[2] === "rpc") {
      if (authError !== undefined) return refuseHttp(socket, authError)
      if (typeof role === "object") return refuseHttp(socket, HttpError.invalidRequest(role.error))
      return runFork(
        Effect.gen(function*() {
          const session = yield* Reactor.lookup(reactor, sessionId)
          if (session === undefined) return refuseHttp(socket, HttpError.sessionNotFound(sessionId))
          const ws = yield* Effect.async<WebSocket>((resume) =>
            wss.handleUpgrade(request, socket, head, (ws) => resume(Effect.succeed(ws)))
          )
          yield* RpcTransport.serve(ws, session, reactor.model, role)
        }).pipe(Fibers.settled("rpc transport"))
      )
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const adopted = WsTransport.adopt(ws, config.maxMessageBytes)
      if (authError !== undefined) return WsTransport.refuse(ws, CloseCode.unauthorized, authError.body)
      const query = FrameCodec.parseQuery(url.searchParams, config.jpegQuality)
      if (typeof query === "string" || typeof role === "object") {
        const message = typeof query === "string" ? query : (role as { readonly error: string }).error
        return WsTransport.refuse(ws, CloseCode.invalidRequest, { code: "invalid_request", message })
      }
      runFork(
        Effect.gen(function*() {
          const session = yield* Reactor.lookup(reactor, sessionId)
          if (session === undefined) {
            return WsTransport.refuse(
              ws,
              CloseCode.sessionNotFound,
              HttpError.sessionNotFound(sessionId).body
            )
          }
          yield* WsTransport.serve(adopted, session, { ...query, role })
        }).pipe(Fibers.settled("websocket transport"))
      )
    })
  }

  const listener = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      accept(request, socket, head)
    } catch (error) {
      // never let a malformed upgrade reach the process as an uncaught exception
      socket.destroy()
      runFork(Effect.logWarning("websocket upgrade failed", error))
    }
  }
  return { listener, allClosed, terminateAll } satisfies Upgrades
})

/** The upgrade listener as a layer; its sockets are terminated when the layer is released. */
export const layer: Layer.Layer<Upgrade, never, ServerConfig.Config | Reactor.Reactor | Registry.Registry> = Layer
  .scoped(Upgrade, make)
