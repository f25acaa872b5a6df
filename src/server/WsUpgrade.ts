/**
 * Takes WebSocket upgrades of `/sessions/{id}/transport/websocket` off the Node HTTP server before the Effect HTTP
 * app sees them, and hands each socket to `WsTransport`. Other upgrades (the RPC transport) go on to the app.
 * Checks: version headers and origin answer in HTTP (before the upgrade); token, session and query are answered
 * on the socket (`error` then a 44xx close), since a browser cannot read an HTTP refusal of a WebSocket.
 */
import { Effect, Runtime } from "effect"
import { STATUS_CODES, type IncomingMessage, type Server } from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import * as Reactor from "../session/Reactor.js"
import * as ApiVersion from "./ApiVersion.js"
import * as Auth from "./Auth.js"
import * as Cors from "./Cors.js"
import * as FrameCodec from "./FrameCodec.js"
import * as HttpError from "./HttpError.js"
import type * as Registry from "./Registry.js"
import * as ServerConfig from "./ServerConfig.js"
import * as WsTransport from "./WsTransport.js"

const route = /^\/sessions\/([^/]+)\/transport\/websocket\/?$/

const refuseHttp = (socket: Duplex, error: HttpError.HttpError) => {
  const body = JSON.stringify(error.body)
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ""}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

/**
 * Installs the upgrade interception on a Node HTTP server for the life of the scope. On release, every open socket
 * is terminated (sessions have said `sessionEnded` by then when the reactor stopped them first).
 */
export const install = (server: Server) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const reactor = yield* Reactor.Reactor
    const runtime = yield* Effect.runtime<ServerConfig.Config | Reactor.Reactor | Registry.Registry>()
    const runFork = Runtime.runFork(runtime)
    const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes, perMessageDeflate: false })

    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(request.url ?? "/", "http://x")
      let sessionId: string
      try {
        sessionId = decodeURIComponent(route.exec(url.pathname)![1]!)
      } catch {
        return refuseHttp(socket, HttpError.invalidRequest("the session id in the path is not valid"))
      }
      const versionError = ApiVersion.check(request.headers)
      if (versionError !== undefined) return refuseHttp(socket, versionError)
      const origin = request.headers.origin
      if (!Cors.allowed(origin, request.headers.host, config.cors)) {
        return refuseHttp(
          socket,
          HttpError.make(403, "forbidden_origin", `origin ${origin} is not allowed; add it to the server's cors list`)
        )
      }
      socket.on("error", () => {})
      wss.handleUpgrade(request, socket, head, (ws) => {
        const adopted = WsTransport.adopt(ws, config.maxMessageBytes)
        const authError = Auth.check(config.token, request.headers.authorization, url.searchParams)
        if (authError !== undefined) return WsTransport.refuse(ws, WsTransport.CloseCode.unauthorized, authError.body)
        const query = FrameCodec.parseQuery(url.searchParams, config.jpegQuality)
        if (typeof query === "string") {
          return WsTransport.refuse(ws, WsTransport.CloseCode.invalidRequest, { code: "invalid_request", message: query })
        }
        runFork(Effect.gen(function*() {
          const session = yield* reactor.get(sessionId)
          if (session === undefined) {
            return WsTransport.refuse(ws, WsTransport.CloseCode.sessionNotFound, {
              code: "session_not_found",
              message: `no session ${JSON.stringify(sessionId)}: it never existed or has ended`,
              session_id: sessionId
            })
          }
          yield* WsTransport.serve(adopted, session, query)
        }).pipe(Effect.catchAllCause((cause) => Effect.logError("websocket transport failed", cause))))
      })
    }

    // Intercept before the Effect server's own `upgrade` listener sees the request.
    const emit = server.emit
    server.emit = function(this: Server, event: string | symbol, ...args: Array<any>) {
      if (event === "upgrade" && route.test(new URL((args[0] as IncomingMessage).url ?? "/", "http://x").pathname)) {
        try {
          onUpgrade(args[0], args[1], args[2])
        } catch (error) {
          // never let a malformed upgrade reach the process as an uncaught exception
          ;(args[1] as Duplex).destroy()
          runFork(Effect.logWarning("websocket upgrade failed", error))
        }
        return true
      }
      return emit.apply(this, [event, ...args] as Parameters<typeof emit>)
    } as typeof server.emit
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        server.emit = emit
        for (const client of wss.clients) client.terminate()
        wss.close(() => resume(Effect.void))
      })
    )
    return wss
  })
