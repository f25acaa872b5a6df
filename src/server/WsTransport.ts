/**
 * The WebSocket transport of one session: Reactor's JSON envelopes both ways as text, frames as binary messages.
 * One socket is a few fibers in one scope: an inbox drained in order (commands reach the session in the order they
 * arrived), a frame sender that skips frames while the socket's send buffer is full (newest kept), the model's
 * messages, stats every second, and a watcher that says `sessionEnded` and closes. The raw `ws` socket is used
 * because it exposes `bufferedAmount` (slow clients) and `maxPayload`.
 */
import { Deferred, Effect, Either, Exit, Queue } from "effect"
import type { WebSocket } from "ws"
import * as CommandError from "../session/CommandError.js"
import * as EndReason from "../session/EndReason.js"
import * as Reactor from "../session/Reactor.js"
import type * as FrameBus from "../session/FrameBus.js"
import type * as Mailbox from "../session/Mailbox.js"
import type * as Session from "../session/Session.js"
import * as Envelope from "./Envelope.js"
import * as FrameCodec from "./FrameCodec.js"
import * as Registry from "./Registry.js"
import * as ServerConfig from "./ServerConfig.js"
import * as SessionResponse from "./SessionResponse.js"

/** Close codes this transport uses (1000 = the session ended, 1009 = a message over `maxPayloadBytes`). */
export const CloseCode = {
  normal: 1000,
  invalidRequest: 4400,
  unauthorized: 4401,
  sessionNotFound: 4404,
  idle: 4408,
  replaced: 4409,
  tooSlow: 4429,
  shutdown: 1001
} as const

/** What arrived on a socket, as queued for the inbox fiber. */
type Inbound =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Binary" }
  | { readonly _tag: "TooLarge"; readonly size: number }

const OPEN = 1

/** A socket adopted by the transport: its listeners are attached at once so no early message is lost. */
export interface Adopted {
  readonly ws: WebSocket
  readonly inbox: Inbox
  readonly closed: Deferred.Deferred<void>
  /** When the last message arrived (epoch ms): liveness. */
  lastSeen: number
}

/** Messages received and not yet handled, and the inbox fiber's wake-up callback while it waits for one. */
export interface Inbox {
  readonly items: Array<Inbound>
  waiter: (() => void) | undefined
}

/** Pauses reading a socket whose inbox holds this many messages, resumes below `resumeAt` (bounded memory). */
const pauseAt = 64
const resumeAt = 16

const tcp = (ws: WebSocket) => (ws as unknown as { _socket?: { pause(): void; resume(): void; isPaused(): boolean } })._socket

/** Takes over a freshly upgraded socket synchronously: listeners first, then the transport can start. */
export const adopt = (ws: WebSocket, maxMessageBytes: number): Adopted => {
  const inbox: Inbox = { items: [], waiter: undefined }
  const closed = Effect.runSync(Deferred.make<void>())
  const adopted: Adopted = { ws, inbox, closed, lastSeen: Date.now() }
  ws.on("message", (data, isBinary) => {
    adopted.lastSeen = Date.now()
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength
    const item: Inbound = isBinary
      ? { _tag: "Binary" }
      : size > maxMessageBytes
      ? { _tag: "TooLarge", size }
      : { _tag: "Text", text: (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString("utf8") }
    inbox.items.push(item)
    const waiter = inbox.waiter
    if (waiter !== undefined) {
      inbox.waiter = undefined
      waiter()
    }
    if (inbox.items.length >= pauseAt) tcp(ws)?.pause()
  })
  ws.on("ping", () => {
    adopted.lastSeen = Date.now()
  })
  // ws reports protocol violations (e.g. a message over maxPayload) as an error, then closes the socket itself.
  ws.on("error", () => {})
  ws.on("close", () => Deferred.unsafeDone(closed, Exit.void))
  return adopted
}

/** Sends an error and closes: for sockets refused after the upgrade (a browser cannot read an HTTP refusal). */
export const refuse = (ws: WebSocket, code: number, error: Record<string, unknown>) => {
  if (ws.readyState === OPEN) {
    ws.send(Envelope.error(error))
    ws.close(code, String(error.code ?? "refused").slice(0, 100))
  }
}

/** Options of one socket, from its query string. */
export interface SocketOptions {
  readonly format: FrameCodec.Format
  readonly quality: number
}

/** Serves a session over an adopted socket until the socket closes. */
export const serve = (socket: Adopted, session: Session.Session, options: SocketOptions) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const registry = yield* Registry.Registry
    const { model } = yield* Reactor.Reactor
    const { ws } = socket
    let sent = 0
    let skipped = 0
    let late = 0

    const closeNow = (code: number, reason: string) => {
      if (ws.readyState === OPEN || ws.readyState === 0) ws.close(code, reason)
    }
    const close = (code: number, reason: string) => Effect.sync(() => closeNow(code, reason))

    /** Sends a text message; a client that lets text pile up (it never reads) is disconnected. */
    const sendTextNow = (text: string) => {
      if (ws.readyState !== OPEN) return
      if (ws.bufferedAmount > config.maxBufferedTextBytes) {
        return closeNow(CloseCode.tooSlow, "client too slow: it does not read its messages")
      }
      ws.send(text)
    }
    const sendText = (text: string) => Effect.sync(() => sendTextNow(text))
    const sendRuntime = (type: string, data: unknown) => sendText(Envelope.runtime(type, data))
    const sendError = (error: Envelope.WireError | Record<string, unknown>) => sendText(Envelope.error(error))

    const connection: Registry.Connection = {
      replace: close(CloseCode.replaced, "replaced by a newer connection to the session")
    }
    const { resumed } = yield* registry.attach(session, connection)
    yield* Effect.addFinalizer(() => registry.detach(session, connection))
    yield* Effect.addFinalizer(() => close(CloseCode.shutdown, "transport closed"))
    yield* Effect.annotateLogsScoped({ session: session.id })
    yield* Effect.logDebug(`websocket attached (resumed: ${resumed}, format: ${options.format})`)

    yield* sendRuntime("sessionReady", {
      session_id: session.id,
      resumed,
      format: options.format,
      model: { name: model.name, version: model.version ?? "1" }
    })

    // Commands and runtime messages, strictly in arrival order.
    const handle = (item: Inbound): Effect.Effect<void> => {
      switch (item._tag) {
        case "Binary":
          return sendError(Envelope.wireError("binary_not_accepted", "binary messages are not accepted from clients; send JSON text"))
        case "TooLarge":
          return sendError(Envelope.wireError(
            "message_too_large",
            `the message has ${item.size} bytes; the limit is ${config.maxMessageBytes} bytes`,
            { size: item.size, limit: config.maxMessageBytes }
          ))
        case "Text": {
          const decoded = Envelope.decodeText(item.text, config.maxMessageBytes)
          if (Either.isLeft(decoded)) return sendError(decoded.left)
          const message = decoded.right
          switch (message._tag) {
            case "Ping":
              return sendRuntime("pong", {})
            case "RequestCapabilities":
              return sendRuntime("modelCapabilities", SessionResponse.modelCapabilities(model))
            case "Stop":
              return Effect.asVoid(session.stop(EndReason.Stopped({ by: "client" })))
            case "Command": {
              // The answer goes out from the mailbox actor the moment the command is settled (no hop back to this
              // fiber first); this fiber still waits for it, so whatever the client sent next is answered after it.
              const id = message.id
              const answer = (exit: Exit.Exit<Mailbox.Ack, CommandError.CommandError>) => {
                if (Exit.isSuccess(exit)) {
                  if (id !== undefined) {
                    sendTextNow(Envelope.runtime("commandAck", { id, command: exit.value.command, frame: exit.value.frame }))
                  }
                } else if (exit.cause._tag === "Fail") {
                  sendTextNow(Envelope.error({
                    ...CommandError.toWire(exit.cause.error),
                    ...(id !== undefined ? { id } : {}),
                    command: message.type
                  }))
                }
              }
              return Effect.ignore(session.submit({ type: message.type, data: message.data, id }, answer))
            }
          }
        }
      }
    }
    const { inbox } = socket
    const waitForMessage = Effect.async<void>((resume) => {
      inbox.waiter = () => resume(Effect.void)
      return Effect.sync(() => {
        inbox.waiter = undefined
      })
    })
    const nextMessage: Effect.Effect<Inbound> = Effect.suspend(() => {
      const item = inbox.items.shift()
      if (item === undefined) return Effect.zipRight(waitForMessage, nextMessage)
      const tcpSocket = tcp(ws)
      if (tcpSocket?.isPaused() && inbox.items.length < resumeAt) tcpSocket.resume()
      return Effect.succeed(item)
    })
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(nextMessage, handle)))

    // Frames: a 2-frame drop-oldest subscription, and skipping while the socket's send buffer is over its limit.
    // RGB needs no asynchronous work, so each frame is written to the socket right where the pacer publishes it
    // (no fiber wake-up per frame; a frame held from before is sent first). JPEG is encoded off the main thread by
    // a sender fiber that wakes once per batch (whatever was buffered when it woke).
    const frames = yield* session.frames(2)
    /** Sends one frame as one binary message made of `parts` (fragments), counting it as sent and maybe late. */
    const sendFrame = (out: FrameBus.OutFrame, ...parts: ReadonlyArray<Uint8Array>) => {
      if (ws.readyState !== OPEN) return
      if (Date.now() - out.emittedAt > config.lateMs) late++
      parts.forEach((part, i) => ws.send(part, { binary: true, fin: i === parts.length - 1 }))
      sent++
    }
    // An RGB frame goes out as one binary message in two fragments, the 24-byte header and then the model's own
    // buffer, so the frame is never copied (the copy cost a quarter of the server's time at full throughput).
    const sendRgb = (out: FrameBus.OutFrame) => {
      if (ws.bufferedAmount > config.maxBufferedBytes) skipped++
      else sendFrame(out, FrameCodec.rgbHeader(out), out.frame.data)
    }
    if (options.format === "rgb") {
      for (const out of yield* frames.takeAll) sendRgb(out)
      yield* frames.deliverTo(sendRgb)
    } else {
      const sendBatch = (batch: ReadonlyArray<FrameBus.OutFrame>): Effect.Effect<void> =>
        Effect.forEach(batch, (out) => {
          if (ws.bufferedAmount > config.maxBufferedBytes) {
            skipped++
            return Effect.void
          }
          return Effect.map(FrameCodec.encode(out, options.format, options.quality), (bytes) => sendFrame(out, bytes))
        }, { discard: true })
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(frames.takeBatch, sendBatch)))
    }

    // The model's messages, in scope application.
    const messages = yield* session.messages
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(messages), (message) => sendText(Envelope.application(message)))))

    // Stats every second.
    yield* Effect.forkScoped(Effect.forever(
      Effect.gen(function*() {
        yield* Effect.sleep(config.statsIntervalMs)
        const stats = yield* session.stats
        yield* sendRuntime("stats", {
          fps: stats.emissionFps,
          frames: sent,
          dropped: skipped + (yield* frames.dropped),
          late,
          command_to_frame_ms: stats.lastCommandToFrameMs ?? null,
          frames_generated: stats.framesGenerated
        })
      })
    ))

    // Liveness: a socket silent for idleTimeoutMs is closed (its session is orphaned).
    yield* Effect.forkScoped(Effect.forever(
      Effect.gen(function*() {
        const silentFor = Date.now() - socket.lastSeen
        if (silentFor >= config.idleTimeoutMs) {
          yield* Effect.logInfo(`websocket silent for ${silentFor} ms: closing it`)
          yield* close(CloseCode.idle, `no message for ${config.idleTimeoutMs} ms`)
          return yield* Effect.never
        }
        yield* Effect.sleep(config.idleTimeoutMs - silentFor)
      })
    ))

    // The session's end: say why, then close.
    yield* Effect.forkScoped(Effect.gen(function*() {
      const reason = yield* session.ended
      yield* sendRuntime("sessionEnded", { reason: EndReason.code(reason), message: EndReason.describe(reason) })
      yield* close(CloseCode.normal, "session ended")
    }))

    yield* Deferred.await(socket.closed)
    yield* Effect.logDebug("websocket closed")
  }).pipe(Effect.scoped, Effect.withSpan("WsTransport.serve"))
