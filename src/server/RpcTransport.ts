/**
 * The `@effect/rpc` transport: one session's commands and frames served as RPCs (msgpack over WebSocket) for typed
 * TypeScript clients (`effect-reactor/client`). Commands go through `session.submit`, so they share the mailbox,
 * the order and the validation of every other transport; the frame stream reads a `session.frames` subscription,
 * which drops the oldest frames for a slow reader.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import { type Rpc, type RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc"
import { Cause, Chunk, type Context, Deferred, Effect, Fiber, FiberId, Option, Queue, type Scope, Stream } from "effect"
import * as Client from "../client/Client.js"
import type * as Model from "../model/Model.js"
import type * as CommandError from "../session/CommandError.js"
import type * as FrameBus from "../session/FrameBus.js"
import * as EndReason from "../session/EndReason.js"
import type * as Session from "../session/Session.js"
import * as FrameCodec from "./FrameCodec.js"

interface Pending {
  readonly type: string
  readonly data: unknown
  readonly reply: Deferred.Deferred<Client.Ack, CommandError.CommandError>
}

/**
 * Submits a connection's commands one after another in the order their requests arrived. RPC handlers run in
 * fibers of their own; queuing at call time (which follows the socket's message order) keeps the order that a
 * concurrent start of those fibers could shuffle.
 */
const makeOrderedSubmit = (session: Session.Session) =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)
    yield* Effect.forkScoped(Effect.forever(
      Effect.flatMap(Queue.take(queue), (pending) =>
        session.submit({ type: pending.type, data: pending.data }).pipe(
          Effect.map((ack): Client.Ack => ({ command: ack.command, frame: ack.frame, receivedAt: ack.receivedAt })),
          Effect.exit,
          Effect.flatMap((exit) => Deferred.complete(pending.reply, exit))
        ))
    ))
    return (type: string, data: unknown): Effect.Effect<Client.Ack, CommandError.CommandError> => {
      const reply = Deferred.unsafeMake<Client.Ack, CommandError.CommandError>(FiberId.none)
      Queue.unsafeOffer(queue, { type, data, reply })
      return Deferred.await(reply)
    }
  })

/** The frame stream of one subscription: batches what queued up while the reader acked the previous chunk. */
const frames = (session: Session.Session, options: Client.FramesOptions): Stream.Stream<Client.FrameMessage> =>
  Stream.unwrapScoped(Effect.map(session.frames(options.buffer ?? 8), (subscription) => {
    const codec = options.format ?? "rgb"
    const quality = options.quality ?? 80
    const toMessage = (out: FrameBus.OutFrame, dropped: number): Effect.Effect<Client.FrameMessage> =>
      Effect.map(
        codec === "jpeg" ? FrameCodec.jpeg(out.frame, quality) : Effect.succeed(out.frame.data),
        (bytes) => ({
          index: out.index,
          width: out.frame.width,
          height: out.frame.height,
          capturedAt: out.generatedAt,
          codec,
          bytes,
          dropped
        })
      )
    const next = Effect.gen(function*() {
      const first = yield* subscription.take
      const rest = yield* subscription.takeAll
      const dropped = yield* subscription.dropped
      return Chunk.unsafeFromArray(yield* Effect.forEach([first, ...rest], (out) => toMessage(out, dropped)))
    }).pipe(
      // the subscription ends (its queue shut down) when the session does: end the stream cleanly
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(cause, Option.some))
      )
    )
    return Stream.repeatEffectChunkOption(next)
  })).pipe(Stream.interruptWhen(session.ended))

/** How long a socket stays open after its session ended, for the last responses to leave. */
const flushMs = 50

/** How long a close may take to go out and the socket to finish. */
const closeTimeoutMs = 1000

/** Builds the RPC handlers of one connection. */
const makeHandlers = (session: Session.Session, model: Model.Declared) =>
  Effect.gen(function*() {
    const submit = yield* makeOrderedSubmit(session)
    const handlers: Record<string, (payload: any) => unknown> = {
      [Client.Frames._tag]: (options: Client.FramesOptions) => frames(session, options)
    }
    for (const tag of model.commands.requests.keys()) {
      handlers[tag] = (payload: unknown) => submit(tag, payload)
    }
    return handlers
  })

/**
 * Serves one session over the `@effect/rpc` WebSocket protocol, for `GET /sessions/{id}/transport/rpc`: upgrades
 * the current request, runs an RPC server with the group `Client.groupFor(model.commands)` until the socket closes,
 * and closes the socket with 1000 when the session ends, or with 4409 when interrupted while the session runs (a
 * newer connection took over). A request that is not a WebSocket upgrade gets a 400 `invalid_request`.
 * Authentication, finding the session and liveness are the router's job.
 */
export const handle = (
  session: Session.Session,
  model: Model.Declared
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const upgrade = request.headers["upgrade"]
    const socket = upgrade?.toLowerCase() === "websocket" ? yield* Effect.option(request.upgrade) : Option.none()
    if (Option.isNone(socket)) {
      return yield* HttpServerResponse.json({
        code: "invalid_request",
        message: "this endpoint is a WebSocket (the @effect/rpc transport): connect with an upgrade request"
      }, { status: 400 }).pipe(Effect.orDie)
    }
    const group = Client.groupFor(model.commands) as unknown as RpcGroup.RpcGroup<Rpc.Any>
    const handlers = yield* (group.toHandlersContext(makeHandlers(session, model) as any) as Effect.Effect<
      Context.Context<never>,
      never,
      Scope.Scope
    >)
    const { httpApp, protocol } = yield* RpcServer.makeProtocolWithHttpAppWebsocket.pipe(
      Effect.provide(RpcSerialization.layerMsgPack)
    )
    const server = RpcServer.make(group, { spanPrefix: "RpcTransport" }) as Effect.Effect<never, never, RpcServer.Protocol>
    yield* server.pipe(
      Effect.provideService(RpcServer.Protocol, protocol),
      Effect.provide(handlers),
      Effect.interruptible,
      Effect.forkScoped
    )
    // A close frame goes out only while the socket runs (its writer waits for that): bounded, in case it is gone.
    const close = (code: number, reason: string) =>
      Effect.flatMap(socket.value.writer, (write) => write(new Socket.CloseEvent(code, reason.slice(0, 120)))).pipe(
        Effect.scoped,
        Effect.timeout(closeTimeoutMs),
        Effect.ignore
      )
    const endedClose = Effect.map(session.ended, (reason) => `session ended: ${EndReason.describe(reason)}`)
    // The protocol upgrades by itself; hand it the socket we already made, with the rest of the request as it is.
    const upgraded = Object.create(request, { upgrade: { value: Effect.succeed(socket.value) } })
    const served = yield* httpApp.pipe(
      Effect.provideService(HttpServerRequest.HttpServerRequest, upgraded),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logDebug("rpc transport socket failed", cause)
      ),
      Effect.forkScoped
    )
    // When the session ends, say so with a clean close (1000), after a moment for the last answers and the ends of
    // the frame streams to leave. The client does not reconnect after it.
    yield* Effect.forkScoped(Effect.flatMap(endedClose, (reason) => Effect.zipRight(Effect.sleep(flushMs), close(1000, reason))))
    // Interrupted while the session runs: a newer connection took over (4409, the client does not reconnect), or the
    // server is going away. The close is sent while the socket is still up, then the socket is left to finish.
    yield* Fiber.join(served).pipe(
      Effect.onInterrupt(() =>
        Effect.gen(function*() {
          if (Option.isSome(yield* Fiber.poll(served))) return
          const ended = yield* session.endReason
          yield* ended !== undefined
            ? close(1000, `session ended: ${EndReason.describe(ended)}`)
            : close(4409, "replaced: another connection took over this session")
          yield* Fiber.await(served).pipe(Effect.timeout(closeTimeoutMs), Effect.ignore)
        })
      )
    )
    return HttpServerResponse.empty()
  }).pipe(
    Effect.scoped,
    Effect.annotateLogs({ session: session.id, transport: "rpc" }),
    Effect.withSpan("RpcTransport.handle", { attributes: { session: session.id } })
  )
