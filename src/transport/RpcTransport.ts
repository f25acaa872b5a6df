/**
 * The `@effect/rpc` transport: one session's commands and frames served as RPCs (msgpack over WebSocket) for typed
 * TypeScript clients (`effect-reactor/client`), framing and I/O on top of the connection core. Commands go through
 * `Connection.submit` (the same budget, checks, mailbox and order as every other transport), one at a time in the
 * order their requests arrived; at most `maxPendingRequests` wait (one more is refused), and what still waits when
 * the client leaves is dropped. Frame streams read `Connection.subscribe`.
 */
import { type Rpc, type RpcGroup, RpcServer } from "@effect/rpc"
import { Cause, Chunk, type Context, Deferred, Effect, Exit, Option, type Scope, Stream } from "effect"
import type { WebSocket } from "ws"
import * as ServerConfig from "../config/ServerConfig.js"
import type * as Model from "../model/Model.js"
import * as CloseCode from "../protocol/CloseCode.js"
import * as Client from "../protocol/RpcContract.js"
import * as WireError from "../protocol/WireError.js"
import * as Fibers from "../session/Fibers.js"
import type * as FrameBus from "../session/FrameBus.js"
import type * as Registry from "../session/Registry.js"
import type * as Session from "../session/Session.js"
import * as Connection from "./Connection.js"
import * as FrameCodec from "./FrameCodec.js"
import * as RpcSocket from "./RpcSocket.js"
import * as Waiters from "./Waiters.js"
import * as WsTransport from "./WsTransport.js"

type Failure = Client.CommandFailure

interface Pending {
  readonly type: string
  readonly data: unknown
  readonly reply: (exit: Exit.Exit<Client.Ack, Failure>) => void
}

/**
 * Submits a connection's commands one after another in the order their requests arrived. RPC handlers run in
 * fibers of their own; queuing at call time (which follows the socket's message order) keeps the order that a
 * concurrent start of those fibers could shuffle. At most `limit` wait: one more is refused with
 * `too_many_requests` (the socket keeps being read, so a client that leaves is seen at once and what it left is
 * dropped, and one that cancels a request takes it out of the queue).
 */
const makeOrderedSubmit = (connection: Connection.Connection, limit: number) =>
  Effect.gen(function*() {
    const items: Array<Pending> = []
    const waiters = Waiters.make()
    let closed = false
    const dropped = WireError.make("session_closed", "the connection closed before the command was applied")
    // made once: a flooding client is refused many times a second
    const full = WireError.make(
      "too_many_requests",
      `this connection already has ${limit} commands waiting; wait for their answers`,
      { limit }
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const item of items.splice(0)) item.reply(Exit.fail(dropped))
      })
    )
    yield* Fibers.forkScoped(
      "rpc command queue",
      Effect.forever(Effect.suspend(() => {
        const item = items.shift()
        if (item === undefined) return Waiters.wait(waiters)
        return connection.submit(item.type, item.data).pipe(
          Effect.map((ack): Client.Ack => ({
            command: ack.command,
            frame: ack.frame,
            receivedAt: ack.receivedAt,
            ...("result" in ack ? { result: ack.result } : {})
          })),
          Effect.exit,
          Effect.flatMap((exit) => Effect.sync(() => item.reply(exit)))
        )
      }))
    )
    return (type: string, data: unknown): Effect.Effect<Client.Ack, Failure> =>
      Effect.async<Client.Ack, Failure>((resume) => {
        if (closed) return resume(Effect.fail(dropped))
        if (items.length >= limit) return resume(Effect.fail(full))
        const item: Pending = { type, data, reply: (exit) => resume(exit) }
        items.push(item)
        Waiters.wakeAll(waiters)
        // An interrupted request (the client gave up on it, or left) is dropped from the queue.
        return Effect.sync(() => {
          const at = items.indexOf(item)
          if (at >= 0) items.splice(at, 1)
        })
      })
  })

/**
 * The frame stream of one subscription: batches what queued up while the reader acked the previous chunk. A frame
 * over `maxFrameBytes` is skipped and counted (as on the WebSocket), so command answers never wait behind it.
 */
const frames = (
  connection: Connection.Connection,
  options: Client.FramesOptions,
  maxFrameBytes: number
): Stream.Stream<Client.FrameMessage> =>
  Stream.unwrapScoped(Effect.map(connection.subscribe(options.buffer ?? 8), (subscription) => {
    const codec = options.format ?? "rgb"
    const quality = options.quality ?? 80
    let oversize = 0
    const toMessage = (out: FrameBus.OutFrame, dropped: number): Effect.Effect<ReadonlyArray<Client.FrameMessage>> =>
      Effect.map(
        codec === "jpeg" ? FrameCodec.jpeg(out.frame, quality) : Effect.succeed(out.frame.data),
        (bytes) => {
          if (bytes.byteLength > maxFrameBytes) {
            oversize++
            connection.frameSkipped("too_large")
            return []
          }
          connection.frameSent(out)
          return [{
            index: out.index,
            width: out.frame.width,
            height: out.frame.height,
            capturedAt: out.generatedAt,
            codec,
            bytes,
            dropped: dropped + oversize
          }]
        }
      )
    const next = Effect.gen(function*() {
      const first = yield* subscription.take
      const rest = yield* subscription.takeAll
      const dropped = yield* subscription.dropped
      return Chunk.unsafeFromArray((yield* Effect.forEach([first, ...rest], (out) => toMessage(out, dropped))).flat())
    }).pipe(
      // the subscription ends (its queue shut down) when the session does: end the stream cleanly
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.fail(Option.none()) : Effect.failCause(Cause.map(cause, Option.some))
      )
    )
    return Stream.repeatEffectChunkOption(next)
  })).pipe(Stream.interruptWhen(connection.session.ended))

/** The @effect/rpc client's ping period (`RpcClient.makeProtocolSocket`). */
const rpcPingMs = 10_000

/** How long a socket may stay open after its session ended for the answers its client still waits for. */
const flushTimeoutMs = 1_000

/**
 * The requests a client still waits an answer for, seen at the protocol: a request opens, its `Exit` (or a
 * `Defect`, or the client's own `Interrupt`) settles it. `settled` waits until none is open, so the socket closes
 * after the last answer was written (the WebSocket sends its close frame after what was written before it).
 */
const makeOpenRequests = () => {
  const open = new Set<string>()
  const waiters = Waiters.make()
  const settle = (id: string) => {
    if (open.delete(id) && open.size === 0) Waiters.wakeAll(waiters)
  }
  const settled: Effect.Effect<void> = Effect.suspend(() =>
    open.size === 0 ? Effect.void : Effect.zipRight(Waiters.wait(waiters), settled)
  )
  const track = (protocol: RpcServer.Protocol["Type"]): RpcServer.Protocol["Type"] => ({
    ...protocol,
    run: (f) =>
      protocol.run((clientId, message) => {
        if (message._tag === "Request") open.add(String(message.id))
        else if (message._tag === "Interrupt") settle(String(message.requestId))
        return f(clientId, message)
      }),
    send: (clientId, response, transferables) =>
      Effect.ensuring(
        protocol.send(clientId, response, transferables),
        Effect.sync(() => {
          if (response._tag === "Exit") settle(String(response.requestId))
          else if (response._tag === "Defect") { for (const id of [...open]) settle(id) }
        })
      )
  })
  return { track, settled }
}

/**
 * Serves one session over the `@effect/rpc` WebSocket protocol on an upgraded socket, until it closes: an RPC server
 * with the group `Client.groupFor(model.commands)`. It closes with 1000 when the session ends, 4409 when a newer
 * connection takes over, 4408 when the client is silent. Authentication and finding the session are done before.
 */
export const serve = (
  ws: WebSocket,
  session: Session.Session,
  model: Pick<Model.Declared, "commands">,
  role: Registry.Role = "controller"
) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const closed = yield* Deferred.make<void>()
    ws.on("close", () => Deferred.unsafeDone(closed, Exit.void))
    if (ws.readyState === 3) Deferred.unsafeDone(closed, Exit.void)
    // not read until the edge listens (a message emitted before would be lost)
    ws.pause()
    const requests = makeOpenRequests()
    // the edge's batched answers, flushed before a close (set once the edge is made, below)
    let flushAnswers = () => {}
    const connection = yield* Connection.make({
      session,
      transport: "rpc",
      text: false,
      role,
      // an idle @effect/rpc client only pings every 10 s: its silence may last that much longer
      idleTimeoutMs: config.idleTimeoutMs + rpcPingMs,
      io: {
        send: () => {},
        close: (code, reason) => {
          // the session ended: its client's last answers (acks, the frame stream's end) leave first
          if (code !== CloseCode.normal) return WsTransport.closeSocket(ws, code, reason)
          Effect.runFork(Effect.ensuring(
            Effect.ignore(Effect.timeout(requests.settled, flushTimeoutMs)),
            Effect.sync(() => {
              flushAnswers()
              WsTransport.closeSocket(ws, code, reason)
            })
          ))
        }
      }
    })
    // Every message and ping is a sign of life.
    ws.on("message", connection.touch)
    ws.on("ping", connection.touch)

    const submit = yield* makeOrderedSubmit(connection, config.maxPendingRequests)
    const handlers: Record<string, (payload: any) => unknown> = {
      [Client.Frames._tag]: (options: Client.FramesOptions) => frames(connection, options, config.maxFrameBytes)
    }
    for (const tag of model.commands.requests.keys()) handlers[tag] = (payload: unknown) => submit(tag, payload)

    const group = Client.groupFor(model.commands) as unknown as RpcGroup.RpcGroup<Rpc.Any>
    const context =
      yield* (group.toHandlersContext(handlers as any) as Effect.Effect<Context.Context<never>, never, Scope.Scope>)
    // The edge: messages checked and charged to the budgets before the RPC server sees them.
    const edge = yield* RpcSocket.make({
      ws,
      tags: new Set(group.requests.keys()),
      commands: new Set(model.commands.requests.keys()),
      maxMessageBytes: config.maxMessageBytes,
      maxDepth: config.maxDepth,
      maxUnreadBytes: config.maxBufferedTextBytes,
      spend: connection.spend,
      allowCommand: connection.allowCommand,
      close: (code, reason) => WsTransport.closeSocket(ws, code, reason)
    })
    flushAnswers = edge.flush
    // Every request gets its own answer: a handler's defect fails that request, not every request of the client.
    const server = RpcServer.make(group, { spanPrefix: "RpcTransport", disableFatalDefects: true }) as Effect.Effect<
      never,
      never,
      RpcServer.Protocol
    >
    yield* Fibers.forkScoped(
      "rpc server",
      server.pipe(
        Effect.provideService(RpcServer.Protocol, requests.track(edge.protocol)),
        Effect.provide(context),
        Effect.interruptible,
        // never a silent wedge: the server gone, the socket is closed and the session orphaned (resumable)
        Effect.onExit((exit) =>
          Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
            ? Effect.sync(() => WsTransport.closeSocket(ws, CloseCode.internalError, "the rpc server failed"))
            : Effect.void
        )
      )
    )
    yield* Deferred.await(closed)
    yield* Effect.logDebug("rpc socket closed")
  }).pipe(Effect.scoped, Effect.withSpan("RpcTransport.serve", { attributes: { session: session.id } }))
