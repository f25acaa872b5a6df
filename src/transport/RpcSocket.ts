/**
 * `@effect/rpc`'s server protocol over one `ws` WebSocket, with the connection's edge in front of it: each message is
 * read in arrival order by one fiber, decoded as msgpack (each message whole), every value in it checked by
 * `RpcWire.decode` and charged to the connection's message budget (a message of 1000 requests counts 1000), and
 * each command request charged to the command budget, before anything reaches the RPC server. Over the message
 * budget the socket is not read (`ws.pause()`) until the budget has room again, so a flooding client costs the
 * event loop its budget and no more. A malformed message, a request over the command budget and a request id
 * already in flight are answered here; the server only sees what it can handle.
 */
import { type RpcMessage, RpcSerialization, RpcServer } from "@effect/rpc"
import { Cause, Effect, Mailbox, type Scope } from "effect"
import type { WebSocket } from "ws"
import * as CloseCode from "../protocol/CloseCode.js"
import * as Envelope from "../protocol/Envelope.js"
import * as WireError from "../protocol/WireError.js"
import * as Fibers from "../session/Fibers.js"
import * as Inbox from "./Inbox.js"
import * as RpcWire from "./RpcWire.js"

const OPEN = 1

/** The one client id of a socket's protocol (a protocol serves one socket). */
const clientId = 0

/** What the edge needs from the connection and the transport. */
export interface Options {
  readonly ws: WebSocket
  /** The RPC tags served. */
  readonly tags: ReadonlySet<string>
  /** The tags that are commands: each request spends the command budget. */
  readonly commands: ReadonlySet<string>
  /** Largest message handled; a larger one is refused with `message_too_large` (the socket stays open). */
  readonly maxMessageBytes: number
  /** Answer bytes a client may leave unread (not sent yet) before it is closed with 4429. */
  readonly maxUnreadBytes: number
  /** Charges `count` messages to the message budget: how long (ms) to stop reading, 0 when there is room. */
  readonly spend: (count: number) => number
  /** Deepest nesting of a command's payload; deeper is refused with `nesting_too_deep` before any budget is spent. */
  readonly maxDepth: number
  /** Charges one command to the command budget: `undefined`, or the error to answer (`rate_limited`). */
  readonly allowCommand: () => WireError.WireError | undefined
  /** Closes the connection (its session is then orphaned, resumable). */
  readonly close: (code: number, reason: string) => void
}

/**
 * `@effect/rpc`'s msgpack (with its records, whose definitions a client sends once per socket), where every message
 * is whole: a message with a truncated value is refused, never kept as the start of the next one.
 */
const msgPack = RpcSerialization.makeMsgPack({ useRecords: true, maxBufferSize: 0 })

/** Requests of one message handled before the event loop gets a turn. */
const sliceSize = 64

/** Waits for the event loop's next turn (timers and sockets of every other connection run first). */
const nextTurn = Effect.async<void>((resume) => {
  const immediate = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(immediate))
})

/** A socket's RPC protocol for `RpcServer.make`: reads the socket from the current scope until it closes. */
/** The edge of one socket: the protocol the RPC server runs on, and `flush`, which sends the answers still batched. */
export interface Edge {
  readonly protocol: RpcServer.Protocol["Type"]
  /** Sends what is batched now (before the socket is closed: a close frame must not overtake the last answers). */
  readonly flush: () => void
}

export const make = (options: Options): Effect.Effect<Edge, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { ws } = options
    let parser = msgPack.unsafeMake()
    const disconnects = yield* Mailbox.make<number>()
    /** Requests handed to the server and not answered yet: an id among them cannot be reused. */
    const inFlight = new Set<string>()
    let unreadBytes = 0

    // Reading stops while the inbox is full or the budget is spent; either may resume it, not both at once.
    let full = false
    let overBudget = false
    const reading = () => {
      if (full || overBudget) ws.pause()
      else ws.resume()
    }
    const inbox = Inbox.make<Uint8Array>({
      pauseAt: 8,
      resumeAt: 2,
      pause: () => {
        full = true
        reading()
      },
      resume: () => {
        full = false
        reading()
      }
    })
    const onMessage = (data: Buffer | ArrayBuffer | ReadonlyArray<Buffer>) =>
      inbox.push(
        Array.isArray(data)
          ? Buffer.concat(data)
          : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : data as Buffer
      )
    ws.on("message", onMessage)
    yield* Effect.addFinalizer(() => Effect.sync(() => ws.off("message", onMessage)))
    reading()

    // Answers leave in batches: those written while one message is handled go out as one WebSocket message (a
    // msgpack sequence, as a client decodes any message), not one send each.
    let batch: Array<Uint8Array> = []
    let batchBytes = 0
    let flushing = false
    const flush = () => {
      flushing = false
      const parts = batch
      const counted = batchBytes
      batch = []
      batchBytes = 0
      if (ws.readyState !== OPEN || parts.length === 0) return
      ws.send(parts.length === 1 ? parts[0]! : Buffer.concat(parts), { binary: true }, () => {
        unreadBytes -= counted
      })
    }

    /** Writes one answer; a client that leaves too many unread is closed (its answers would pile up here). */
    const write = (response: RpcMessage.FromServerEncoded) => {
      if (response._tag === "Exit") inFlight.delete(response.requestId)
      if (ws.readyState !== OPEN) return
      let bytes: Uint8Array | undefined
      try {
        bytes = parser.encode(response) as Uint8Array | undefined
      } catch (cause) {
        bytes = parser.encode(RpcWire.defect(WireError.make(
          "internal_error",
          `the server could not encode an answer: ${String(cause)}`
        ))) as Uint8Array
      }
      if (bytes === undefined) return
      if (response._tag === "Chunk") {
        // frames are paced by the client's acks, and big: sent on their own, after what was written before them
        flush()
        ws.send(bytes, { binary: true })
        return
      }
      unreadBytes += bytes.byteLength
      if (unreadBytes > options.maxUnreadBytes) {
        return options.close(CloseCode.tooSlow, "client too slow: it does not read its answers")
      }
      batch.push(bytes)
      batchBytes += bytes.byteLength
      if (!flushing) {
        flushing = true
        setImmediate(flush)
      }
    }

    let writeRequest!: (clientId: number, message: RpcMessage.FromClientEncoded) => Effect.Effect<void>
    const protocol = yield* RpcServer.Protocol.make((write_) => {
      writeRequest = write_
      return Effect.succeed({
        disconnects,
        send: (_clientId, response) => Effect.sync(() => write(response)),
        end: () => Effect.void,
        clientIds: Effect.succeed(new Set([clientId])),
        initialMessage: Effect.succeedNone,
        supportsAck: true,
        supportsTransferables: false,
        // trace ids from a client are not taken on trust
        supportsSpanPropagation: false
      })
    })
    // The client gone, the server interrupts what it was doing for it at once (before this scope closes).
    const disconnect = () => disconnects.unsafeOffer(clientId)
    ws.once("close", disconnect)
    if (ws.readyState === 3) disconnect()

    /** Hands a checked message to the server; whatever it does with it, the next message is read. */
    const dispatch = (message: RpcMessage.FromClientEncoded): Effect.Effect<void> =>
      Effect.catchAllCause(writeRequest(clientId, message), (cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Effect.logError(`the rpc server failed on a ${message._tag}`, cause))

    const handle = (value: unknown): Effect.Effect<void> => {
      const decoded = RpcWire.decode(value)
      if (decoded._tag === "Invalid") {
        write(
          decoded.requestId !== undefined && !inFlight.has(decoded.requestId)
            ? RpcWire.failure(decoded.requestId, decoded.error)
            : RpcWire.defect(decoded.error)
        )
        return Effect.void
      }
      const message = decoded.message
      if (message._tag !== "Request") return dispatch(message)
      if (inFlight.has(message.id)) {
        write(RpcWire.defect(RpcWire.invalid(
          `Request: id ${message.id} is already in flight (a request waiting for its answer, or an open stream); ` +
            "use a new id",
          { id: message.id }
        )))
        return Effect.void
      }
      if (!options.tags.has(message.tag)) {
        write(RpcWire.failure(
          message.id,
          RpcWire.invalid(
            `Request: "${message.tag.slice(0, 64)}" is not an RPC of this session's model (its group is derived ` +
              "from the model's commands with Client.groupFor)",
            { tag: message.tag.slice(0, 64) }
          )
        ))
        return Effect.void
      }
      if (options.commands.has(message.tag)) {
        // as on the WebSocket: a payload nested too deep is refused before it costs the budget
        if (Envelope.valueTooDeep(message.payload, options.maxDepth)) {
          write(RpcWire.failure(message.id, Envelope.tooDeep(options.maxDepth)))
          return Effect.void
        }
        const refused = options.allowCommand()
        if (refused !== undefined) {
          write(RpcWire.failure(message.id, refused))
          return Effect.void
        }
      }
      inFlight.add(message.id)
      return dispatch(message)
    }

    /** One message: decoded whole, each value handled in order, then the budget charged for all of them. */
    const read = (bytes: Uint8Array): Effect.Effect<number> => {
      if (bytes.byteLength > options.maxMessageBytes) {
        write(RpcWire.defect(WireError.make(
          "message_too_large",
          `the message has ${bytes.byteLength} bytes; the limit is ${options.maxMessageBytes} bytes`,
          { size: bytes.byteLength, limit: options.maxMessageBytes }
        )))
        return Effect.succeed(options.spend(1))
      }
      let values: ReadonlyArray<unknown>
      try {
        values = parser.decode(bytes)
      } catch {
        // the parser may hold a partial record definition: start afresh
        parser = msgPack.unsafeMake()
        write(RpcWire.defect(RpcWire.invalid(
          "the message is not msgpack, or is cut short, or is nested too deep to decode; it was dropped whole"
        )))
        return Effect.succeed(options.spend(1))
      }
      const wait = options.spend(Math.max(1, values.length))
      // a message of many requests is handled a slice at a time, letting the event loop serve others in between
      return Effect.as(
        Effect.forEach(
          values,
          (value, index) =>
            index > 0 && index % sliceSize === 0 ? Effect.zipRight(nextTurn, handle(value)) : handle(value),
          { discard: true }
        ),
        wait
      )
    }

    yield* Fibers.forkScoped(
      "rpc socket reader",
      Effect.forever(
        Effect.flatMap(inbox.take, (bytes) =>
          Effect.flatMap(read(bytes), (wait) => {
            if (wait <= 0) return Effect.void
            overBudget = true
            reading()
            return Effect.ensuring(
              Effect.sleep(wait),
              Effect.sync(() => {
                overBudget = false
                reading()
              })
            )
          }))
      ).pipe(
        // Never a silent wedge: a reader that fails closes its socket, and the session is orphaned (resumable).
        Effect.onExit((exit) =>
          exit._tag === "Failure" && !Cause.isInterruptedOnly(exit.cause)
            ? Effect.sync(() => options.close(CloseCode.internalError, "the server failed to read the connection"))
            : Effect.void
        )
      )
    )
    return { protocol, flush }
  })
