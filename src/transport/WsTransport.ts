/**
 * The WebSocket transport: framing and I/O on top of the connection core (`Connection`). Text messages in, in arrival
 * order, to `Connection.receive`; text replies out; frames out as binary messages (the 24-byte header, then JPEG or
 * raw RGB), skipped while the socket's send buffer is over its limit (newest kept) and when over `maxFrameBytes`, so
 * text replies never wait behind much. Reading is paused (`ws.pause()`)
 * while the inbox is full, which is how a flooding client gets slowed down to its message budget. The raw `ws`
 * socket is used because it exposes `bufferedAmount` (slow clients), `maxPayload` and `pause()`/`resume()`.
 */
import { Deferred, Effect, Exit, Queue, Runtime } from "effect"
import type { WebSocket } from "ws"
import * as ServerConfig from "../config/ServerConfig.js"
import * as CloseCode from "../protocol/CloseCode.js"
import * as Envelope from "../protocol/Envelope.js"
import * as FrameHeader from "../protocol/FrameHeader.js"
import * as SessionResponse from "../protocol/SessionResponse.js"
import * as WireError from "../protocol/WireError.js"
import * as Fibers from "../session/Fibers.js"
import type * as FrameBus from "../session/FrameBus.js"
import * as Reactor from "../session/Reactor.js"
import type * as Registry from "../session/Registry.js"
import type * as Session from "../session/Session.js"
import * as Connection from "./Connection.js"
import * as FrameCodec from "./FrameCodec.js"
import * as Inbox from "./Inbox.js"

/** What arrived on a socket, as queued for the inbox fiber. */
type Inbound =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Binary"; readonly bytes: Uint8Array }
  | { readonly _tag: "TooLarge"; readonly size: number }

const OPEN = 1

/**
 * How long a closing socket may go without reading before it is terminated: once what was queued before the close
 * frame has been read, the client has this long to answer the closing handshake.
 */
export const closeGraceMs = 1000

/** A socket adopted by the transport: its listeners are attached at once so no early message is lost. */
export interface Adopted {
  readonly ws: WebSocket
  readonly inbox: Inbox.Inbox<Inbound>
  readonly closed: Deferred.Deferred<void>
  /** Called for every message and ping (liveness); set once the connection exists. */
  onActivity: () => void
}

/**
 * A binary message's bytes in a buffer that nothing else uses: an input frame's buffer is handed over to the session
 * (a model host moves it to its thread). `ws` gives a message that spans several reads a buffer of its own (the
 * common case for a frame: no copy); a small one may be a view into a shared read buffer, and is copied.
 */
const ownBytes = (data: Buffer | ArrayBuffer | ReadonlyArray<Buffer>): Uint8Array => {
  if (Array.isArray(data)) return Buffer.concat(data as ReadonlyArray<Buffer>)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  const buffer = data as Buffer
  return buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength
    ? buffer
    : Uint8Array.prototype.slice.call(buffer)
}

/** Takes over a freshly upgraded socket synchronously: listeners first, then the transport can start. */
export const adopt = (ws: WebSocket, maxMessageBytes: number): Adopted => {
  const closed = Effect.runSync(Deferred.make<void>())
  // Reading pauses while 64 messages wait, with ws's own pause()/resume() (bounded memory, back-pressure).
  const inbox = Inbox.make<Inbound>({ pause: () => ws.pause(), resume: () => ws.resume() })
  const adopted: Adopted = { ws, inbox, closed, onActivity: () => {} }
  ws.on("message", (data, isBinary) => {
    adopted.onActivity()
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength
    inbox.push(
      isBinary
        ? { _tag: "Binary", bytes: ownBytes(data) }
        : size > maxMessageBytes
        ? { _tag: "TooLarge", size }
        : {
          _tag: "Text",
          text: (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString(
            "utf8"
          )
        }
    )
  })
  ws.on("ping", () => adopted.onActivity())
  // ws reports protocol violations (e.g. a message over maxPayload) as an error, then closes the socket itself.
  ws.on("error", () => {})
  ws.on("close", () => Deferred.unsafeDone(closed, Exit.void))
  return adopted
}

/**
 * Closes a socket, and terminates it if the client stops reading: a client still reading what was queued before the
 * close (a large frame, `sessionEnded`) gets it, and then `closeGraceMs` to answer the closing handshake; one that
 * reads nothing for `closeGraceMs` is terminated.
 */
export const closeSocket = (ws: WebSocket, code: number, reason: string) => {
  if (ws.readyState === OPEN || ws.readyState === 0) {
    ws.close(code, Buffer.from(reason).subarray(0, 120).toString())
  }
  if (ws.readyState !== 3) {
    let waiting = ws.bufferedAmount
    let drained = waiting === 0
    const timer = setInterval(() => {
      const now = ws.bufferedAmount
      if (drained || now >= waiting) return ws.terminate()
      drained = now === 0
      waiting = now
    }, closeGraceMs)
    timer.unref()
    ws.once("close", () => clearInterval(timer))
  }
}

/** Sends an error and closes: for sockets refused after the upgrade (a browser cannot read an HTTP refusal). */
export const refuse = (ws: WebSocket, code: number, error: Record<string, unknown>) => {
  if (ws.readyState === OPEN) {
    ws.send(Envelope.error(error))
    closeSocket(ws, code, String(error.code ?? "refused").slice(0, 100))
  }
}

const headerBytesOf = (frame: { readonly data: Uint8Array }) => FrameHeader.headerBytes + frame.data.byteLength

/** Options of one socket, from its query string. */
export interface SocketOptions {
  readonly format: FrameCodec.Format
  readonly quality: number
  /** Drive the session (default) or only watch it. */
  readonly role?: Registry.Role
}

/** Serves a session over an adopted socket until the socket closes. */
export const serve = (socket: Adopted, session: Session.Session, options: SocketOptions) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const { model } = yield* Reactor.Reactor
    const { ws } = socket
    const tracks = SessionResponse.tracksOf(model)
    const hasInputs = tracks.some((track) => track.direction === "sendonly")
    const trackIndex = new Map(tracks.map((track, index) => [track.name, index]))
    const primaryTrack = tracks[0]?.name ?? "main_video"
    // A client that lets text pile up (it does not read) is disconnected. Frames are only sent while at most
    // maxBufferedBytes waits and are at most maxFrameBytes each, so beyond their sum what waits is text.
    const sendText = (text: string) => {
      if (ws.readyState !== OPEN) return
      if (ws.bufferedAmount > config.maxBufferedTextBytes + config.maxBufferedBytes + config.maxFrameBytes) {
        return closeSocket(ws, CloseCode.tooSlow, "client too slow: it does not read its messages")
      }
      ws.send(text)
    }

    const connection = yield* Connection.make({
      session,
      transport: "websocket",
      ready: { format: options.format },
      ...(options.role !== undefined ? { role: options.role } : {}),
      backlog: socket.inbox.size,
      io: {
        send: sendText,
        close: (code, reason) => closeSocket(ws, code, reason)
      }
    })
    socket.onActivity = connection.touch

    /** An input frame: its header names the track (an index in `capabilities.tracks`), then RGB pixels. */
    const input = (bytes: Uint8Array): Effect.Effect<void> => {
      const refused = connection.watchOnly()
      if (refused !== undefined) return connection.refuse(refused)
      const message = FrameHeader.readInput(bytes)
      if (typeof message === "string") return connection.refuse(WireError.make("invalid_input", message))
      const track = tracks[message.track]
      if (track === undefined || track.direction !== "sendonly") {
        const inputs = tracks.flatMap((t, index) => (t.direction === "sendonly" ? [`${index} = "${t.name}"`] : []))
        return connection.refuse(WireError.make(
          "unknown_track",
          `track ${message.track} is ${
            track === undefined ? "not in capabilities.tracks" : `"${track.name}", which the server sends`
          }; ` +
            `the input tracks are ${inputs.join(", ")}`,
          { track: message.track }
        ))
      }
      return session.pushInput(track.name, {
        width: message.width,
        height: message.height,
        data: message.pixels,
        ...(message.capturedAt !== undefined ? { capturedAt: message.capturedAt } : {})
      }).pipe(
        Effect.catchAll((error) => connection.refuse(WireError.make(error.code, error.message, { track: error.track })))
      )
    }

    // Commands and runtime messages, strictly in arrival order, one at a time.
    const handle = (item: Inbound): Effect.Effect<void> => {
      switch (item._tag) {
        case "Binary":
          return Effect.zipRight(
            connection.admit,
            hasInputs
              ? input(item.bytes)
              : connection.refuse(WireError.make(
                "binary_not_accepted",
                "binary messages are not accepted from clients: the model has no input tracks; send JSON text"
              ))
          )
        case "TooLarge":
          return Effect.zipRight(
            connection.admit,
            connection.refuse(WireError.make(
              "message_too_large",
              `the message has ${item.size} bytes; the limit is ${config.maxMessageBytes} bytes`,
              { size: item.size, limit: config.maxMessageBytes }
            ))
          )
        case "Text":
          return connection.receive(item.text)
      }
    }
    yield* Fibers.forkScoped("websocket inbox", Effect.forever(Effect.flatMap(socket.inbox.take, handle)))

    // Frames: a 2-frame drop-oldest subscription, and skipping while the socket's send buffer is over its limit.
    // RGB needs no asynchronous work, so each frame is written to the socket right where the pacer publishes it
    // (no fiber wake-up per frame; a frame held from before is sent first). JPEG is encoded off the main thread by
    // a sender fiber that wakes once per batch (whatever was buffered when it woke).
    const frames = yield* connection.subscribe(2)
    const runtime = yield* Effect.runtime<never>()
    let warned = false
    /**
     * Whether a frame message of `bytes` may go out now: not while more than maxBufferedBytes waits on the socket
     * (the client is behind), and never when it is over maxFrameBytes (text would wait behind it); else skipped.
     */
    const fits = (bytes: number) => {
      if (bytes > config.maxFrameBytes) {
        if (!warned) {
          warned = true
          Runtime.runFork(runtime)(Effect.logWarning(
            `a ${bytes}-byte frame message is over maxFrameBytes (${config.maxFrameBytes}): such frames are ` +
              `skipped on this socket (format=${options.format}); use JPEG or raise maxFrameBytes`
          ))
        }
        connection.frameSkipped("too_large")
        return false
      }
      if (ws.bufferedAmount > config.maxBufferedBytes) {
        connection.frameSkipped()
        return false
      }
      return true
    }
    /** Sends one frame as one binary message made of `parts` (fragments). */
    const sendFrame = (out: FrameBus.OutFrame, ...parts: ReadonlyArray<Uint8Array>) => {
      if (ws.readyState !== OPEN) {
        return
      }
      connection.frameSent(out)
      // a frame's metadata goes just before it, as a runtime message naming the track and the frame
      if (out.metadata !== undefined) {
        sendText(Envelope.runtime("frameMetadata", { track: primaryTrack, frame: out.index, metadata: out.metadata }))
      }
      parts.forEach((part, i) => ws.send(part, { binary: true, fin: i === parts.length - 1 }))
    }
    /** The other video tracks' frames released with `out`, each a binary message with its track's index. */
    const extraMessages = (out: FrameBus.OutFrame): Effect.Effect<ReadonlyArray<Uint8Array>> =>
      out.extras === undefined
        ? Effect.succeed([])
        : Effect.forEach(out.extras, (extra) =>
          FrameCodec.encode(
            { index: out.index, frame: extra.frame, generatedAt: out.generatedAt },
            options.format,
            options.quality,
            trackIndex.get(extra.track) ?? 0
          ))
    const sendExtras = (messages: ReadonlyArray<Uint8Array>) => {
      for (const message of messages) {
        if (ws.readyState === OPEN && message.byteLength <= config.maxFrameBytes) ws.send(message, { binary: true })
      }
    }
    // An RGB frame goes out as one binary message in two fragments, the 24-byte header and then the model's own
    // buffer, so the frame is never copied (the copy cost a quarter of the server's time at full throughput).
    const sendRgb = (out: FrameBus.OutFrame) => {
      if (fits(FrameHeader.headerBytes + out.frame.data.byteLength)) {
        sendFrame(out, FrameCodec.rgbHeader(out), out.frame.data)
        if (out.extras !== undefined) {
          for (const extra of out.extras) {
            const header = FrameCodec.rgbHeader(
              { index: out.index, frame: extra.frame, generatedAt: out.generatedAt },
              trackIndex.get(extra.track) ?? 0
            )
            if (ws.readyState === OPEN && headerBytesOf(extra.frame) <= config.maxFrameBytes) {
              ws.send(header, { binary: true, fin: false })
              ws.send(extra.frame.data, { binary: true, fin: true })
            }
          }
        }
      }
    }
    if (options.format === "rgb") {
      for (const out of yield* frames.takeAll) sendRgb(out)
      yield* frames.deliverTo(sendRgb)
    } else {
      const sendBatch = (batch: ReadonlyArray<FrameBus.OutFrame>): Effect.Effect<void> =>
        Effect.forEach(batch, (out) => {
          if (ws.bufferedAmount > config.maxBufferedBytes) {
            connection.frameSkipped()
            return Effect.void
          }
          return Effect.flatMap(FrameCodec.encode(out, options.format, options.quality), (bytes) => {
            if (!fits(bytes.byteLength)) return Effect.void
            return Effect.map(extraMessages(out), (extras) => {
              sendFrame(out, bytes)
              sendExtras(extras)
            })
          })
        }, { discard: true })
      yield* Fibers.forkScoped("websocket frame sender", Effect.forever(Effect.flatMap(frames.takeBatch, sendBatch)))
    }

    // Audio: each chunk as it is due to play, a binary message (codec 2, raw PCM) with its track's index.
    const audio = session.audio
    if (audio !== undefined) {
      const chunks = yield* audio
      yield* Fibers.forkScoped(
        "websocket audio sender",
        Effect.forever(Effect.flatMap(Queue.take(chunks), (chunk) =>
          Effect.sync(() => {
            if (ws.readyState !== OPEN || ws.bufferedAmount > config.maxBufferedBytes) return
            ws.send(FrameCodec.encodeAudio(chunk, trackIndex.get(chunk.track) ?? 0), { binary: true })
          })))
      )
    }

    yield* Deferred.await(socket.closed)
    yield* Effect.logDebug("websocket closed")
  }).pipe(Effect.scoped, Effect.withSpan("WsTransport.serve"))
