/**
 * One client's connection to a session, whatever carries it: the part every transport shares. It decodes the
 * client's text messages (envelopes, with size and nesting limits), submits commands to the session's mailbox and
 * answers them (ack or a specific error, bounded in size), keeps each connection within its command and message
 * budgets, forwards the model's messages, sends `stats`, watches liveness, counts frames sent and skipped, takes part
 * in the registry (replace, orphan, resume) and says `sessionEnded` before closing.
 *
 * A transport is only framing and I/O on top of it: it gives an `Io` (write a text message, close), calls `receive`
 * for each text message in arrival order (or `submit` for a typed command), `touch` for other signs of life, and
 * delivers frames through `subscribe` + `frameSent`/`frameSkipped`. The WebSocket, the RPC and the WebRTC data channel
 * transports all do exactly that. A new text transport, e.g. a data channel:
 *
 * ```ts
 * const connection = yield* Connection.make({ session, transport: "webrtc", io: {
 *   send: (text) => channel.send(text),
 *   close: (code, reason) => peer.close()            // must not wait on the client
 * } })
 * const inbox = Inbox.make<string>({ pause: () => {}, resume: () => {} })
 * channel.onmessage = (event) => inbox.push(String(event.data))
 * yield* Fibers.forkScoped("webrtc inbox", Effect.forever(Effect.flatMap(inbox.take, connection.receive)))
 * const frames = yield* connection.subscribe(2)
 * yield* frames.deliverTo((out) => { videoSource.onFrame(toI420(out.frame)); connection.frameSent(out) })
 * yield* Deferred.await(channelClosed)               // the scope's end detaches the connection (orphan, resume)
 * ```
 */
import { Cause, Effect, Either, Exit, Option, Queue, type Schema, SchemaAST, type Scope } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as State from "../model/State.js"
import * as CloseCode from "../protocol/CloseCode.js"
import * as CommandError from "../protocol/CommandError.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Envelope from "../protocol/Envelope.js"
import * as SessionResponse from "../protocol/SessionResponse.js"
import * as WireError from "../protocol/WireError.js"
import * as Fibers from "../session/Fibers.js"
import type * as FrameBus from "../session/FrameBus.js"
import type * as Mailbox from "../session/Mailbox.js"
import * as Metrics from "../session/Metrics.js"
import * as Reactor from "../session/Reactor.js"
import * as Recorder from "../session/Recorder.js"
import * as Registry from "../session/Registry.js"
import type * as Session from "../session/Session.js"
import * as Uploads from "../session/Uploads.js"
import * as RateLimit from "./RateLimit.js"
import * as UploadRefs from "./UploadRefs.js"
import * as Waiters from "./Waiters.js"

/** What the core needs from a transport. */
export interface Io {
  /** Writes one text message (a JSON envelope) to the client. */
  readonly send: (text: string) => void
  /**
   * Ends the connection with a close code (`CloseCode`) and a reason. It must not wait on the client: a client that
   * never answers a closing handshake must not hold its session (the WebSocket transport terminates after a grace).
   */
  readonly close: (code: number, reason: string) => void
}

/** Options of a connection. */
export interface Options {
  readonly session: Session.Session
  readonly io: Io
  /** The transport's name in logs: `websocket`, `rpc`, `webrtc`. */
  readonly transport: string
  /**
   * Whether the client reads runtime text messages: `sessionReady`, the model's messages, `stats` and
   * `sessionEnded` (default true). The RPC transport has no text channel.
   */
  readonly text?: boolean
  /** Fields added to `sessionReady` (e.g. the frame format). */
  readonly ready?: Readonly<Record<string, unknown>>
  /** Silence after which the connection is closed (4408); default `idleTimeoutMs` of the config. */
  readonly idleTimeoutMs?: number
  /**
   * What the client may do (default `controller`): a `watcher` sees the session (frames, model messages, state) but
   * its commands, stops and input frames are refused with `watch_only`; a new controller replaces the current one,
   * watchers come and go (`Registry`).
   */
  readonly role?: Registry.Role
  /**
   * How many messages the transport has received and not yet handed to `receive` (its inbox; a message leaves it
   * as it is handed over): when the session ends, they are answered (a command `session_closed`) before
   * `sessionEnded`. Default: none.
   */
  readonly backlog?: () => number
}

/** Figures of one connection (the `stats` message). */
export interface Stats {
  readonly framesSent: number
  /** Frames this connection did not get: skipped while the client was not reading, or dropped from its buffers. */
  readonly framesDropped: number
  readonly framesLate: number
  readonly rateLimited: number
}

/** A connection, live for the scope it was made in. */
export interface Connection {
  readonly session: Session.Session
  /** A connection had been attached to the session before this one. */
  readonly resumed: boolean
  /** What the client may do: drive the session, or only watch it. */
  readonly role: Registry.Role
  /** A watcher's refusal of what only a controller may do (an input frame), or `undefined` for a controller. */
  readonly watchOnly: () => WireError.WireError | undefined
  /**
   * Handles one text message from the client, in arrival order: a transport calls it from one fiber, message after
   * message. Replies go out through `Io.send`, in the order of the messages, except that runtime messages (`ping`,
   * `requestCapabilities`, `stop`) are handled at once, never after a command still being applied (a handler may run
   * long). At most `maxPendingRequests` messages wait for their turn: a command beyond is answered
   * `too_many_requests`. It first waits for the connection's message budget, so a transport that queues while it
   * waits (and stops reading when its queue is full) paces a flooding client. It never fails.
   */
  readonly receive: (text: string) => Effect.Effect<void>
  /** Answers a message the transport refused before decoding (binary, over the payload limit). */
  readonly refuse: (error: WireError.WireError) => Effect.Effect<void>
  /**
   * Spends one command of the budget for a typed transport (RPC), when the command arrives (before it waits for
   * its turn, as a text command is checked when read): `undefined`, or the `rate_limited` error, counted in `stats`.
   */
  readonly allowCommand: () => WireError.WireError | undefined
  /**
   * Submits a command of a typed transport (RPC), after `allowCommand` admitted it: the same checks and errors as a
   * text command.
   */
  readonly submit: (
    type: string,
    data: unknown
  ) => Effect.Effect<Mailbox.Ack, CommandError.CommandError | WireError.WireError>
  /** Waits until the message budget allows one more message, and spends it. */
  readonly admit: Effect.Effect<void>
  /**
   * Spends `count` messages of the budget at once without waiting, for a transport that reads many in one frame
   * (RPC: each request of a message counts): 0 when there is room for more, else how long (ms) until there is, for
   * which the transport stops reading its socket.
   */
  readonly spend: (count: number) => number
  /** Marks the client alive (liveness) without a message to handle, e.g. a WebSocket ping. */
  readonly touch: () => void
  /** Subscribes to the session's frames; what the subscription drops counts in this connection's `stats`. */
  readonly subscribe: (capacity: number) => Effect.Effect<FrameBus.Subscription, never, Scope.Scope>
  /** Counts a frame sent (and whether it left late). */
  readonly frameSent: (out: FrameBus.OutFrame) => void
  /**
   * Counts a frame skipped because the client was not reading (or `reason`: too large, superseded by a newer one);
   * also counted in the session's `dropped_frames`.
   */
  readonly frameSkipped: (reason?: Metrics.DropReason) => void
  readonly stats: Effect.Effect<Stats>
}

/** A client message's turn (`Connection.receive`): run it, or answer it without running (the session ended). */
interface Turn {
  readonly run: Effect.Effect<void>
  readonly refuse: () => void
}

/** The error of a command over its connection's budget. */
export const rateLimited = (perSecond: number, burst: number) =>
  WireError.make(
    "rate_limited",
    `too many commands: this connection may send ${perSecond} a second (${burst} at once); the command was not applied`,
    { limit: perSecond, burst }
  )

/**
 * How long, once the session has ended, the connection goes on answering what the client had sent (each command
 * `session_closed`) before it says `sessionEnded`: a bound for a client that keeps sending.
 */
export const drainMs = 2000

let viewers = 0

/** The error a watcher gets for what only the session's controller may do. */
export const watchOnly = (what: string) =>
  WireError.make(
    "watch_only",
    `this connection watches the session: ${what} only the controlling connection may send; nothing was applied`
  )

/** The role a client asks for in its query (`?role=watcher`; `controller` when absent), or what is wrong with it. */
export const parseRole = (params: URLSearchParams): Registry.Role | { readonly error: string } => {
  const role = params.get("role") ?? "controller"
  return role === "controller" || role === "watcher"
    ? role
    : { error: `role must be "controller" or "watcher", got ${JSON.stringify(role.slice(0, 40))}` }
}

/** The type of the message that carries a command's reply to a client that gave the command no id. */
export const replyType = (rpc: { readonly _tag: string; readonly successSchema: Schema.Schema.Any }): string =>
  Option.match(SchemaAST.getIdentifierAnnotation(rpc.successSchema.ast), {
    onNone: () => `${rpc._tag}_reply`,
    onSome: (identifier) => identifier.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
  })

/** A defect while applying a command: the client gets this, the log gets the cause. */
const internalError = WireError.make(
  "internal_error",
  "the server failed to handle the command; it was not applied"
)

/**
 * Opens a connection to a session for the life of the current scope: attaches it in the registry (a newer one
 * replaces it with 4409), says `sessionReady`, and forks its model messages, stats, liveness and end watcher.
 */
export const make = (options: Options): Effect.Effect<
  Connection,
  never,
  Scope.Scope | ServerConfig.Config | Registry.Registry | Reactor.Reactor
> =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const registry = yield* Registry.Registry
    const { model } = yield* Reactor.Reactor
    const uploads = yield* Uploads.option
    const clips = yield* Effect.serviceOption(Recorder.Recorder)
    const { io, session } = options
    const text = options.text ?? true
    const role = options.role ?? "controller"
    const viewer = { id: `v${++viewers}`, role, transport: options.transport } as const
    const counters = registry.counters(session.id)
    const recorder = Metrics.forFlag(config.metrics)
    // A command's span is a child of its session's (tracing on, the session sampled); none otherwise. An unsampled
    // session's span is still the command's parent, so the worker learns (from the span context @effect/rpc carries)
    // that the command is not traced and makes no span of its own.
    const sessionSpan = registry.span(session.id)
    const traced = <A, E, R>(type: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      sessionSpan === undefined
        ? effect
        : !sessionSpan.sampled
        ? Effect.withParentSpan(effect, sessionSpan)
        : Effect.withSpan(effect, "command", {
          parent: sessionSpan,
          captureStackTrace: false,
          attributes: { "command.name": type, "session.id": session.id, transport: options.transport }
        })
    // Time is Effect's Clock (a TestClock in tests): liveness, budgets and lateness all read it.
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const commandBucket = RateLimit.make(config.maxCommandsPerSecond, config.commandBurst, now())
    // one error for every refusal: a flood is refused thousands of times a second, an error object is not free
    const overBudget = rateLimited(commandBucket.perSecond, commandBucket.burst)
    const messageBucket = RateLimit.make(config.maxMessagesPerSecond, config.maxMessagesPerSecond, now())
    const subscriptions: Array<FrameBus.Subscription> = []
    let lastSeen = now()
    let closed = false
    let sent = 0
    let skipped = 0
    let late = 0
    let limited = 0
    // Messages being handled (`receive`, `submit`) and whoever waits for them all to be answered.
    let handling = 0
    const handled = Waiters.make()
    const backlog = options.backlog ?? (() => 0)
    const tracked = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        handling++
        return Effect.ensuring(
          effect,
          Effect.sync(() => {
            handling--
            Waiters.wakeAll(handled)
          })
        )
      })
    /** Waits until nothing the client sent waits for its answer: none being handled, none in the backlog. */
    const answered: Effect.Effect<void> = Effect.suspend(() => {
      if (handling > 0 || backlog() > 0) return Effect.zipRight(Waiters.wait(handled), answered)
      // one more turn of the scheduler: a message handed to a transport's waiting fiber is not in its backlog
      // any more, and that fiber has not called `receive` yet
      return Effect.zipRight(
        Effect.yieldNow(),
        Effect.suspend(() => (handling > 0 || backlog() > 0 ? answered : Effect.void))
      )
    })

    const close = (code: number, reason: string) => {
      if (closed) return
      closed = true
      io.close(code, reason)
    }
    const send = (message: string) => {
      if (!closed) io.send(message)
    }
    const sendRuntime = (type: string, data: unknown) => send(Envelope.runtime(type, data))
    const sendError = (error: WireError.WireError | Record<string, unknown>) =>
      send(Envelope.error(error, config.maxErrorBytes))

    const touch = () => {
      lastSeen = now()
    }

    /** Spends a message token: 0, or how long until there is one (ms). */
    const spend = (at: number) => (RateLimit.take(messageBucket, at) ? 0 : RateLimit.waitMs(messageBucket, at))
    const admit: Effect.Effect<void> = Effect.suspend(() => {
      const wait = spend(now())
      return wait === 0 ? Effect.void : Effect.zipRight(Effect.sleep(wait), admit)
    })

    /** Spends a command token, or counts the refusal. */
    const allowCommand = (at: number) => {
      if (RateLimit.take(commandBucket, at)) return true
      limited++
      counters.rateLimited++
      recorder.rateLimited()
      return false
    }

    // What the client sent, runtime messages aside, waits its turn in the connection's own queue, run in order by
    // one fiber: a command is submitted and its answer awaited there, so a handler that runs long (or never returns)
    // holds the commands after it, never a ping or a stop (answered at once). A turn can also answer without being
    // run, for a session that ended first.
    const turns = yield* Queue.bounded<Turn>(Math.max(1, config.maxPendingRequests))
    yield* Fibers.forkScoped("command turns", Effect.forever(Effect.flatMap(Queue.take(turns), (turn) => turn.run)))
    /** An answer that needs no session (a refusal), in its turn; at once when the queue is full. */
    const inTurn = (answer: () => void) => {
      if (!Queue.unsafeOffer(turns, { run: Effect.sync(answer), refuse: answer })) answer()
    }

    const command = (
      message: Extract<Envelope.ClientMessage, { _tag: "Command" }>,
      at: number
    ): Effect.Effect<void> => {
      const id = message.id
      const about = () => ({ ...(id !== undefined ? { id } : {}), command: message.type })
      if (role === "watcher") {
        inTurn(() => sendError({ ...watchOnly(`a command ("${message.type}")`).toWire(), ...about() }))
        return Effect.void
      }
      if (!allowCommand(at)) {
        inTurn(() => sendError({ ...overBudget.toWire(), ...about() }))
        return Effect.void
      }
      // The answer goes out from the mailbox actor the moment the command is settled (no hop back to the turns'
      // fiber first); that fiber still waits for it, so the command's turn ends with its answer.
      const answer = (exit: Exit.Exit<Mailbox.Ack, CommandError.CommandError>) => {
        if (Exit.isSuccess(exit)) {
          const ack = exit.value
          if (id !== undefined) {
            sendRuntime("commandAck", {
              id,
              command: ack.command,
              frame: ack.frame,
              ...("result" in ack ? { result: ack.result } : {})
            })
          } else if ("result" in ack) {
            // a client without ids (Reactor's SDK) gets the reply as a model message, addressed to it alone
            const rpc = model.commands.requests.get(ack.command) as Parameters<typeof replyType>[0] | undefined
            if (rpc !== undefined) send(Envelope.application({ type: replyType(rpc), data: ack.result }))
          }
        } else if (exit.cause._tag === "Fail") {
          sendError({ ...CommandError.toWire(exit.cause.error), ...about() })
        }
      }
      // Files named in `uploads` are resolved into the data first (in the command's turn); a refusal is answered.
      const submission = message.uploads === undefined
        ? session.submit({ type: message.type, data: message.data, id }, answer)
        : UploadRefs.resolve({
          model,
          store: uploads,
          sessionId: session.id,
          type: message.type,
          data: message.data,
          uploads: message.uploads,
          waitMs: config.uploadWaitMs
        }).pipe(
          Effect.matchEffect({
            onFailure: (error) => Effect.sync(() => sendError({ ...error.toWire(), ...about() })),
            onSuccess: (data) => Effect.asVoid(session.submit({ type: message.type, data, id }, answer))
          })
        )
      // A failure was answered by `answer`; a defect is logged and answered here; interruption goes on.
      const submitted = Effect.catchAllCause(
        traced(message.type, submission),
        (cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause as Cause.Cause<never>)
            : !Cause.isDie(cause)
            ? Effect.void
            : Effect.zipRight(
              Effect.logError(`command "${message.type}" died`, cause),
              Effect.sync(() => sendError({ ...internalError.toWire(), ...about() }))
            )
      )
      const closedAnswer = () =>
        sendError({
          ...WireError.make("session_closed", "the session has ended; the command was not applied").toWire(),
          ...about()
        })
      if (!Queue.unsafeOffer(turns, { run: submitted, refuse: closedAnswer })) {
        sendError({
          ...WireError.make(
            "too_many_requests",
            `this connection already has ${config.maxPendingRequests} commands waiting; wait for their answers`,
            { limit: config.maxPendingRequests }
          ).toWire(),
          ...about()
        })
      }
      return Effect.void
    }

    /** Handles one message, synchronously up to the command's submission (the hot path allocates little). */
    const handle = (raw: string, at: number): Effect.Effect<void> => {
      lastSeen = at
      const decoded = Envelope.decodeText(raw, config.maxMessageBytes, config.maxDepth)
      if (Either.isLeft(decoded)) {
        const error = decoded.left
        inTurn(() => sendError(error))
        return Effect.void
      }
      const message = decoded.right
      switch (message._tag) {
        case "Ping":
          sendRuntime("pong", {})
          return Effect.void
        case "RequestCapabilities":
          sendRuntime("modelCapabilities", SessionResponse.modelCapabilities(model))
          return Effect.void
        case "Stop":
          if (role === "watcher") {
            inTurn(() => sendError(watchOnly("a stop")))
            return Effect.void
          }
          return Effect.asVoid(session.stop(EndReason.Stopped({ by: "client" })))
        case "RequestClip":
          // Reactor's clip request: answered at once with the clip's range and the playlist to poll, or why not.
          return Option.match(clips, {
            onNone: () => Effect.sync(() => sendRuntime("clipFailed", { reason: "recording is off on this server" })),
            onSome: (recorder) =>
              Effect.map(recorder.request(session.id, message.durationSeconds), (clip) =>
                "_tag" in clip ? sendRuntime("clipFailed", { reason: clip.reason }) : sendRuntime("clipReady", clip))
          })
        case "FileUploaded":
          // The SDK's notice after its PUT: nothing to do but say so when the upload is not this session's.
          return uploads === undefined ? Effect.void : Effect.flatMap(
            uploads.owns(session.id, message.uploadId),
            (owned) =>
              owned ?
                Effect.void :
                Effect.sync(() =>
                  sendError(WireError.make("unknown_upload", "fileUploaded names no upload of this session", {
                    upload_id: message.uploadId
                  }))
                )
          )
        case "Command":
          return command(message, at)
      }
    }

    const receiveOne = (raw: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const at = now()
        const wait = spend(at)
        if (wait === 0) {
          return handle(raw, at)
        }
        // over the budget: this fiber waits, its inbox fills up and the transport stops reading
        return Effect.zipRight(
          Effect.sleep(wait),
          Effect.zipRight(
            admit,
            Effect.suspend(() =>
              handle(raw, now())
            )
          )
        )
      }).pipe(
        // Whatever one message does, the connection goes on answering the next: a defect is logged and answered.
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.zipRight(
              Effect.logError("handling a client message failed", cause),
              Effect.sync(() => sendError(WireError.make("internal_error", "the server failed to handle the message")))
            )
        )
      )
    const receive = (raw: string): Effect.Effect<void> => tracked(receiveOne(raw))

    const submitOne = (
      type: string,
      data: unknown
    ): Effect.Effect<Mailbox.Ack, CommandError.CommandError | WireError.WireError> =>
      Effect.suspend(() => {
        const at = now()
        lastSeen = at
        if (role === "watcher") return Effect.fail(watchOnly(`a command ("${type}")`))
        if (Envelope.valueTooDeep(data, config.maxDepth)) return Effect.fail(Envelope.tooDeep(config.maxDepth))
        return traced(type, session.submit({ type, data })).pipe(
          Effect.catchAllDefect((defect) =>
            Effect.zipRight(Effect.logError(`command "${type}" died`, defect), Effect.fail(internalError))
          )
        )
      })
    const submit = (type: string, data: unknown) => tracked(submitOne(type, data))

    const stats = Effect.suspend(() =>
      Effect.map(
        Effect.forEach(subscriptions, (subscription) => subscription.dropped),
        (dropped): Stats => ({
          framesSent: sent,
          framesDropped: skipped + dropped.reduce((a, b) => a + b, 0),
          framesLate: late,
          rateLimited: limited
        })
      )
    )

    const connection: Connection = {
      session,
      resumed: false,
      role,
      watchOnly: () => (role === "watcher" ? watchOnly("an input frame") : undefined),
      receive,
      refuse: (error) => Effect.sync(() => inTurn(() => sendError(error))),
      submit,
      admit,
      allowCommand: () => (allowCommand(now()) ? undefined : overBudget),
      spend: (count) => RateLimit.charge(messageBucket, count, now()),
      touch,
      subscribe: (capacity) =>
        Effect.tap(session.frames(capacity), (subscription) =>
          Effect.acquireRelease(
            Effect.sync(() => subscriptions.push(subscription)),
            () =>
              Effect.flatMap(subscription.dropped, (dropped) =>
                Effect.sync(() => {
                  // a closed subscription's drops stay counted
                  skipped += dropped
                  subscriptions.splice(subscriptions.indexOf(subscription), 1)
                }))
          )),
      frameSent: (out) => {
        if (now() - out.emittedAt > config.lateMs) late++
        sent++
      },
      frameSkipped: (reason = "not_reading") => {
        skipped++
        counters.skippedFrames++
        recorder.framesDropped(reason, 1)
      },
      stats
    }

    const attachment: Registry.Connection = {
      role,
      replace: Effect.sync(() => close(CloseCode.replaced, "replaced by a newer connection to the session"))
    }
    recorder.connectionOpened(options.transport)
    yield* Effect.addFinalizer(() => Effect.sync(() => recorder.connectionClosed(options.transport)))
    const attached = yield* registry.attach(session, attachment)
    if (attached.full !== undefined) {
      sendError(WireError.make(
        "too_many_viewers",
        `the session already has ${attached.full} watchers; try again later`,
        { limit: attached.full }
      ))
      close(CloseCode.tooManyViewers, "too many viewers")
      return { ...connection, resumed: false }
    }
    const resumed = attached.resumed
    // Detached at once when the connection ends, even before its socket has finished closing.
    yield* Effect.addFinalizer(() => registry.detach(session, attachment))
    // The model hears of the viewer leaving (not when the session ends: it hears `sessionEnded` then).
    yield* Effect.addFinalizer(() => session.viewer("disconnected", viewer))
    yield* Effect.addFinalizer(() => Effect.sync(() => close(CloseCode.shutdown, "transport closed")))
    yield* Effect.annotateLogsScoped({ session: session.id, transport: options.transport })
    yield* Effect.logDebug(`${options.transport} connection attached (resumed: ${resumed})`)
    if (text) {
      sendRuntime("sessionReady", {
        session_id: session.id,
        resumed,
        role,
        ...options.ready,
        model: { name: model.name, version: model.version ?? "1" }
      })
      // The model's messages, in scope application.
      const messages = yield* session.messages
      yield* Fibers.forkScoped(
        "model message forwarder",
        Effect.forever(
          Effect.flatMap(Queue.take(messages), (message) =>
            Effect.sync(() => {
              // the session's own runtime messages (its `state`) go out in scope runtime
              const runtimeType = typeof message === "object" && message !== null
                ? (message as Record<string, unknown>)[State.runtimeKey]
                : undefined
              send(
                typeof runtimeType === "string"
                  ? Envelope.runtime(runtimeType, (message as { readonly data?: unknown }).data)
                  : Envelope.application(message)
              )
            }))
        )
      )
      // Stats every interval.
      yield* Fibers.forkScoped(
        "stats sender",
        Effect.forever(Effect.gen(function*() {
          yield* Effect.sleep(config.statsIntervalMs)
          const figures = yield* session.stats
          const own = yield* stats
          sendRuntime("stats", {
            fps: figures.emissionFps,
            frames: own.framesSent,
            dropped: own.framesDropped,
            late: own.framesLate,
            rate_limited: own.rateLimited,
            command_to_frame_ms: figures.lastCommandToFrameMs ?? null,
            frames_generated: figures.framesGenerated
          })
        }))
      )
    }

    // The model hears of the viewer once its messages reach it (a state declaration sends it the state at once).
    yield* session.viewer("connected", viewer)

    // Liveness: a connection silent for idleTimeoutMs is closed (its session is orphaned).
    const idleTimeoutMs = options.idleTimeoutMs ?? config.idleTimeoutMs
    yield* Fibers.forkScoped(
      "liveness watcher",
      Effect.forever(Effect.suspend(() => {
        const silentFor = now() - lastSeen
        if (silentFor < idleTimeoutMs) return Effect.sleep(idleTimeoutMs - silentFor)
        return Effect.zipRight(
          Effect.logInfo(`${options.transport} connection silent for ${silentFor} ms: closing it`),
          Effect.zipRight(Effect.sync(() => close(CloseCode.idle, `no message for ${idleTimeoutMs} ms`)), Effect.never)
        )
      }))
    )

    // The session's end: answer what the client had sent (the mailbox now refuses each command with
    // `session_closed`), then say why, then close.
    yield* Fibers.forkScoped(
      "session end watcher",
      Effect.flatMap(session.ended, (reason) =>
        Effect.zipRight(
          // what the transport still holds reaches its turn first (bounded: a client may keep sending)
          Effect.ignore(Effect.timeout(answered, drainMs)),
          Effect.map(Queue.takeAll(turns), (waiting) => {
            // messages still waiting for their turn are answered before the end is said
            for (const turn of waiting) turn.refuse()
            if (text) {
              sendRuntime("sessionEnded", { reason: EndReason.code(reason), message: EndReason.describe(reason) })
            }
            close(CloseCode.normal, `session ended: ${EndReason.describe(reason)}`)
          })
        ))
    )
    return { ...connection, resumed }
  }).pipe(Effect.withSpan("Connection.make"))
