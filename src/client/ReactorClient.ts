/**
 * The typed TypeScript client of a running effect-reactor server. Given the model's command group (the same
 * declarations the model is built from), it starts or attaches to a session and connects its `@effect/rpc`
 * transport (msgpack over WebSocket): every command is a typed method that answers an `Ack` or a typed
 * `CommandError`, and the session's frames are a `Stream`.
 *
 * ```ts
 * const reactor = yield* ReactorClient.make(Commands, { url: "http://localhost:8080" })
 * yield* reactor.commands.set_prompt({ prompt: "a rainy night" })
 * const count = yield* reactor.frames.pipe(Stream.take(90), Stream.runCount)
 * ```
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Socket from "@effect/platform/Socket"
import { type Rpc, RpcClient, type RpcClientError, type RpcGroup, RpcSerialization } from "@effect/rpc"
import { Data, Effect, Layer, Schedule, type Scope, Stream } from "effect"
import * as WS from "ws"
import * as Client from "../protocol/RpcContract.js"

/** Where the server is and which session to drive. */
export interface Options {
  /** The server's base URL, e.g. `http://localhost:8080`. */
  readonly url: string
  /** The server's bearer token, when it has one. */
  readonly token?: string | undefined
  /** Attach to this running session instead of starting a new one. */
  readonly sessionId?: string | undefined
  /** Extra arguments for `POST /start_session` (`extra_args`). */
  readonly extraArgs?: Readonly<Record<string, unknown>> | undefined
  /**
   * Stop the session when the client's scope closes. Default: true for a session this client started, false for
   * one it attached to.
   */
  readonly stopOnClose?: boolean | undefined
  /** Reconnect attempts after the socket drops (the session survives a short drop). Default 5. */
  readonly reconnects?: number | undefined
  /**
   * Watch the session (`sessionId`) without driving it: frames come, commands are refused with `watch_only`, and
   * the session's controller is not replaced. Default false.
   */
  readonly watch?: boolean | undefined
}

/** A request to the server failed: `code` and `message` come from the server's error body when there is one. */
export class ClientError extends Data.TaggedError("ClientError")<{
  readonly code: string
  readonly message: string
  readonly status?: number | undefined
}> {}

/** The typed command methods of a command group: `commands.set_prompt({ prompt })`. */
export type Commands<R extends Rpc.Any> = RpcClient.RpcClient<Client.CommandRpc<R>, RpcClientError.RpcClientError>

/** A connected client. It lives as long as the scope it was made in. */
export interface ReactorClient<R extends Rpc.Any> {
  readonly sessionId: string
  /** The model serving the session, as the server names it. */
  readonly model: { readonly name: string; readonly version?: string | undefined }
  /** One typed method per command; each answers when the session applied (or rejected) the command. */
  readonly commands: Commands<R>
  /** The session's frames from now on (raw RGB), the oldest dropped when the reader falls behind. */
  readonly frames: Stream.Stream<Client.FrameMessage, RpcClientError.RpcClientError>
  /** The frame stream with options: `jpeg` frames, a larger buffer. */
  readonly framesWith: (
    options: Client.FramesOptions
  ) => Stream.Stream<Client.FrameMessage, RpcClientError.RpcClientError>
  /** Stops the session. Stopping a session that already ended succeeds. */
  readonly stop: Effect.Effect<void, ClientError>
}

interface SessionResponse {
  readonly session_id: string
  readonly model?: { readonly name: string; readonly version?: string }
}

const errorOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(
    Effect.orElseSucceed(response.json, () => ({})),
    (body: any) =>
      new ClientError({
        code: typeof body?.code === "string" ? body.code : "http_error",
        message: typeof body?.message === "string" ? body.message : `HTTP ${response.status}`,
        status: response.status
      })
  )

const transportError = (cause: unknown) =>
  new ClientError({ code: "unreachable", message: `cannot reach the server: ${String(cause)}` })

/** The server closes a session's connection cleanly when the session ends: for a frame stream, that is its end. */
const isCleanClose = (error: RpcClientError.RpcClientError) =>
  Socket.SocketCloseError.is(error.cause) && error.cause.code === 1000

/** A close after which reconnecting cannot help: the session ended (1000) or another connection replaced this one. */
const isFinalClose = (error: Socket.SocketError) =>
  Socket.SocketCloseError.is(error) && (error.code === 1000 || error.code === 4409)

/** Builds the WebSocket URL of a session's RPC transport from the server's base URL. */
export const rpcUrl = (base: string, sessionId: string, watch = false): string => {
  const url = new URL(`sessions/${encodeURIComponent(sessionId)}/transport/rpc`, base.endsWith("/") ? base : `${base}/`)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  if (watch) url.searchParams.set("role", "watcher")
  return url.toString()
}

/** A WebSocket constructor that sends the bearer token as a header (Node's `ws`). */
const webSocketConstructor = (token: string | undefined) =>
  Layer.succeed(Socket.WebSocketConstructor, (url, protocols) =>
    new WS.WebSocket(url, protocols, {
      headers: token !== undefined ? { authorization: `Bearer ${token}` } : {}
    }) as unknown as globalThis.WebSocket)

/**
 * Starts a session (or attaches to `options.sessionId`) on the server at `options.url` and connects its typed
 * RPC transport. `commands` must be the group the served model was built from.
 */
export const make = <R extends Rpc.Any>(
  commands: RpcGroup.RpcGroup<R>,
  options: Options
): Effect.Effect<ReactorClient<R>, ClientError, Scope.Scope> =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(options.url.replace(/\/$/, ""))),
      options.token !== undefined ? HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token)) : (c) => c
    )
    const call = (request: HttpClientRequest.HttpClientRequest) =>
      http.execute(request).pipe(
        Effect.mapError(transportError),
        Effect.flatMap((response) =>
          response.status >= 200 && response.status < 300
            ? Effect.orElseSucceed(response.json, () => ({}))
            : errorOf(response)
        ),
        Effect.scoped
      )

    const attached = options.sessionId !== undefined
    const session = attached
      ? yield* Effect.map(
        call(HttpClientRequest.get(`/sessions/${encodeURIComponent(options.sessionId!)}/info`)),
        (info: any): SessionResponse => ({ session_id: options.sessionId!, model: info?.model })
      )
      : (yield* call(
        HttpClientRequest.post("/start_session").pipe(
          HttpClientRequest.bodyUnsafeJson({
            supported_transports: [{ protocol: "rpc", version: "1" }],
            ...(options.extraArgs !== undefined ? { extra_args: options.extraArgs } : {})
          })
        )
      )) as SessionResponse
    const sessionId = session.session_id

    const stop = call(HttpClientRequest.del(`/sessions/${encodeURIComponent(sessionId)}`)).pipe(
      Effect.asVoid,
      Effect.catchIf((error) => error.code === "session_not_found", () => Effect.void)
    )
    if (options.stopOnClose ?? !attached) yield* Effect.addFinalizer(() => Effect.ignore(stop))

    const socket = yield* Socket.makeWebSocket(rpcUrl(options.url, sessionId, options.watch === true)).pipe(
      Effect.provide(webSocketConstructor(options.token))
    )
    const protocol = yield* RpcClient.makeProtocolSocket({
      retrySchedule: Schedule.exponential("200 millis").pipe(
        Schedule.intersect(Schedule.recurs(options.reconnects ?? 5)),
        // the session ended (1000) or another connection took it over (4409): reconnecting cannot help
        Schedule.whileInput((error: Socket.SocketError) => !isFinalClose(error))
      )
    }).pipe(
      Effect.provideService(Socket.Socket, socket),
      Effect.provide(RpcSerialization.layerMsgPack)
    )
    const group = Client.groupFor(commands) as unknown as RpcGroup.RpcGroup<Client.RpcsFor<RpcGroup.RpcGroup<R>>>
    const rpc: any = yield* RpcClient.make(group, { spanPrefix: "ReactorClient" }).pipe(
      Effect.provideService(RpcClient.Protocol, protocol)
    )
    const { reactor, ...methods } = rpc
    const framesWith = (frameOptions: Client.FramesOptions) =>
      // A small client-side buffer: a slow reader holds back acks soon, so the server's subscription drops (the
      // oldest frames) instead of frames queuing up here.
      Stream.suspend(() =>
        reactor.frames(frameOptions, { streamBufferSize: 2 }) as Stream.Stream<
          Client.FrameMessage,
          RpcClientError.RpcClientError
        >
      ).pipe(
        Stream.catchAll((error) => isCleanClose(error) ? Stream.empty : Stream.fail(error))
      )
    return {
      sessionId,
      model: session.model ?? { name: "unknown" },
      commands: methods as Commands<R>,
      frames: framesWith({}),
      framesWith,
      stop
    } satisfies ReactorClient<R>
  }).pipe(Effect.provide(FetchHttpClient.layer))
