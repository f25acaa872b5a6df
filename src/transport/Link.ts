/**
 * The message side of a session over any text channel (here the WebRTC data channel): Reactor's envelopes in,
 * replies out. Text arrives through `receive` (synchronous, from the channel's callback) and is handled strictly in
 * arrival order by one fiber; commands are submitted and acked, runtime messages answered, the model's messages
 * forwarded, `stats` sent every `statsIntervalMs`, and `sessionEnded` said when the session ends. This is the small
 * interface the WebRTC transport depends on, so it can be re-pointed at a shared connection core.
 */
import { Effect, Either, Exit, Queue, type Scope } from "effect"
import * as CommandError from "../session/CommandError.js"
import * as EndReason from "../session/EndReason.js"
import type * as Mailbox from "../session/Mailbox.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as Envelope from "../protocol/Envelope.js"
import * as ServerConfig from "../server/ServerConfig.js"
import * as SessionResponse from "../http/SessionResponse.js"

/** Where replies go: one text message to the client. Must not throw; a closed channel drops it. */
export interface Outlet {
  readonly send: (text: string) => void
}

/** The transport's own frame figures, for the `stats` message. */
export interface FrameStats {
  readonly sent: number
  readonly dropped: number
  readonly late: number
}

/** What the transport hands the link. */
export interface Options {
  readonly session: Session.Session
  readonly outlet: Outlet
  readonly frameStats: Effect.Effect<FrameStats>
  /** Runs after `sessionEnded` was sent (the transport closes its channel). */
  readonly onEnded: (reason: EndReason.EndReason) => Effect.Effect<void>
}

/** A running link. */
export interface Link {
  /** Queues one text message from the client. */
  readonly receive: (text: string) => void
  /** Answers a binary message from the client (not accepted: only text carries envelopes). */
  readonly receiveBinary: (size: number) => void
  /** When the client last sent anything (epoch ms): liveness. */
  readonly lastSeen: () => number
}

/** Messages queued at most; beyond, the client is told it sends faster than the session reads. */
export const inboxCapacity = 256

/** Starts a link in the current scope; closing the scope stops it. */
export const make = (options: Options): Effect.Effect<Link, never, Scope.Scope | ServerConfig.Config | Reactor.Reactor> =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const { model } = yield* Reactor.Reactor
    const { outlet, session } = options
    const inbox = yield* Queue.dropping<string>(inboxCapacity)
    let lastSeen = Date.now()

    const sendRuntime = (type: string, data: unknown) => outlet.send(Envelope.runtime(type, data))
    const sendError = (error: Envelope.WireError | Record<string, unknown>) => outlet.send(Envelope.error(error))

    const handle = (text: string): Effect.Effect<void> => {
      const decoded = Envelope.decodeText(text, config.maxMessageBytes)
      if (Either.isLeft(decoded)) return Effect.sync(() => sendError(decoded.left))
      const message = decoded.right
      switch (message._tag) {
        case "Ping":
          return Effect.sync(() => sendRuntime("pong", {}))
        case "RequestCapabilities":
          return Effect.sync(() => sendRuntime("modelCapabilities", SessionResponse.modelCapabilities(model)))
        case "Stop":
          return Effect.asVoid(session.stop(EndReason.Stopped({ by: "client" })))
        case "Command": {
          const id = message.id
          const answer = (exit: Exit.Exit<Mailbox.Ack, CommandError.CommandError>) => {
            if (Exit.isSuccess(exit)) {
              if (id !== undefined) {
                sendRuntime("commandAck", { id, command: exit.value.command, frame: exit.value.frame })
              }
            } else if (exit.cause._tag === "Fail") {
              sendError({ ...CommandError.toWire(exit.cause.error), ...(id !== undefined ? { id } : {}), command: message.type })
            }
          }
          return Effect.ignore(session.submit({ type: message.type, data: message.data, id }, answer))
        }
      }
    }
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(inbox), handle)))

    const messages = yield* session.messages
    yield* Effect.forkScoped(Effect.forever(
      Effect.flatMap(Queue.take(messages), (message) => Effect.sync(() => outlet.send(Envelope.application(message))))
    ))

    yield* Effect.forkScoped(Effect.forever(
      Effect.gen(function*() {
        yield* Effect.sleep(config.statsIntervalMs)
        const stats = yield* session.stats
        const frames = yield* options.frameStats
        sendRuntime("stats", {
          fps: stats.emissionFps,
          frames: frames.sent,
          dropped: frames.dropped,
          late: frames.late,
          command_to_frame_ms: stats.lastCommandToFrameMs ?? null,
          frames_generated: stats.framesGenerated
        })
      })
    ))

    yield* Effect.forkScoped(Effect.gen(function*() {
      const reason = yield* session.ended
      sendRuntime("sessionEnded", { reason: EndReason.code(reason), message: EndReason.describe(reason) })
      yield* options.onEnded(reason)
    }))

    return {
      receive: (text) => {
        lastSeen = Date.now()
        if (!Queue.unsafeOffer(inbox, text)) {
          sendError(Envelope.wireError(
            "too_many_messages",
            `more than ${inboxCapacity} messages are waiting to be handled; this one was dropped`,
            { limit: inboxCapacity }
          ))
        }
      },
      receiveBinary: (size) => {
        lastSeen = Date.now()
        sendError(Envelope.wireError(
          "binary_not_accepted",
          `a binary message of ${size} bytes arrived; the data channel carries JSON text envelopes only`
        ))
      },
      lastSeen: () => lastSeen
    }
  })
