/**
 * A session: one viewer's run of a loaded model, as a fiber tree under one `Scope`. The generation actor runs the
 * model's loop; the mailbox actor applies commands in order; the pacer releases frames to the frame bus. Stopping
 * closes the scope: interruption is the cooperative stop, finalizers are the cleanup, and a stop that outlives its
 * deadline tears the loop down and says so.
 */
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  ExecutionStrategy,
  Exit,
  Fiber,
  Option,
  PubSub,
  Queue,
  Ref,
  Scope
} from "effect"
import * as Frame from "../model/Frame.js"
import type * as Input from "../model/Input.js"
import type * as Model from "../model/Model.js"
import * as Output from "../model/Output.js"
import { SessionContext, type Viewer } from "../model/SessionContext.js"
import * as EndReason from "../protocol/EndReason.js"
import * as SessionId from "../protocol/SessionId.js"
import type * as StatsSchema from "../protocol/Stats.js"
import * as AudioOut from "./AudioOut.js"
import * as Emission from "./Emission.js"
import * as FrameBus from "./FrameBus.js"
import * as InputTracks from "./InputTracks.js"
import * as Mailbox from "./Mailbox.js"
import type * as Metrics from "./Metrics.js"
import * as ModelErrors from "./ModelErrors.js"
import * as Pacer from "./Pacer.js"

/** Live figures of a session. */
export type Stats = StatsSchema.Stats

/** Options of one session. */
export interface Options {
  /** The session id; a fresh unguessable one by default. */
  readonly id?: SessionId.SessionId
  /** How long a stop may take before the model's loop is torn down. Default 5000 ms. */
  readonly stopDeadlineMs?: number
  /** Caps the frame release rate. */
  readonly maxFps?: number
  /** Commands waiting at most in the mailbox. */
  readonly mailboxCapacity?: number
  /** The client's `extra_args` from `start_session`, handed to the model as `ctx.extraArgs`. */
  readonly extraArgs?: Readonly<Record<string, unknown>>
  /**
   * Also hands every released frame to `sink`, and waits for it: a consumer that must not drop frames (a model
   * host's link to the server) back-pressures the pacer, and through it the model, instead.
   */
  readonly sink?: (frame: FrameBus.OutFrame) => Effect.Effect<void>
  /** Also hands every released audio chunk to `audioSink`, and waits for it (a model host's link to the server). */
  readonly audioSink?: (chunk: Output.OutAudio) => Effect.Effect<void>
  /** Whether the model's own error texts reach the client (`ModelErrors`). Default true. */
  readonly exposeModelErrors?: boolean
  /** Where the session's figures are recorded (`Metrics.live`, a model host's tally); none by default. */
  readonly recorder?: Metrics.Recorder | undefined
}

/** A running (or ended) session. */
export interface Session {
  readonly id: SessionId.SessionId
  readonly startedAt: number
  /** Queues a command and waits until it is applied or rejected with a specific error. */
  readonly submit: Mailbox.Mailbox["submit"]
  /** Subscribes to the frame stream for the life of the scope, behind a drop-oldest buffer of `capacity` frames. */
  readonly frames: (capacity?: number) => Effect.Effect<FrameBus.Subscription, never, Scope.Scope>
  /**
   * Hands an input frame (from the client: untrusted) to the model's input `track`. The frame's buffer is handed
   * over (a model host moves it to its thread): the caller must not touch it afterwards. An unknown track, a wrong
   * size or format, a frame over the declared maximum, or an ended session is refused with the specific error.
   */
  readonly pushInput: (track: string, frame: Input.Incoming) => Effect.Effect<void, Input.InputError>
  /** Subscribes to the model's messages to the client. */
  readonly messages: Effect.Effect<Queue.Dequeue<unknown>, never, Scope.Scope>
  /**
   * Subscribes to the audio chunks of every audio output track, each released when it is due to play. Absent for a
   * session that has no audio output.
   */
  readonly audio?: Effect.Effect<Queue.Dequeue<Output.OutAudio>, never, Scope.Scope>
  readonly stats: Effect.Effect<Stats>
  /** Stops the session cooperatively; returns the reason it ended with (the first reason wins). */
  readonly stop: (reason: EndReason.EndReason) => Effect.Effect<EndReason.EndReason>
  /** Waits for the session to end. */
  readonly ended: Effect.Effect<EndReason.EndReason>
  /** The end reason, if the session has ended. */
  readonly endReason: Effect.Effect<EndReason.EndReason | undefined>
  /**
   * Tells the model a viewer connected or left (its `connected` / `disconnected` hooks, run apart from the caller).
   * Nothing is said of viewers still there when the session ends.
   */
  readonly viewer: (event: "connected" | "disconnected", viewer: Viewer) => Effect.Effect<void>
}

const describeCause = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Frame.FrameError) return error.message
  if (error instanceof Error) return error.message
  return Cause.pretty(cause).split("\n")[0] ?? "unknown error"
}

/**
 * Starts a session of a loaded model in the current scope (the reactor's). It runs until it is stopped, its loop
 * returns, or its loop fails; the model's resources live in a scope of the session's own, a child of the current
 * one, that the session's end closes. Closing the current scope interrupts whatever is left (the reactor stops
 * every session cooperatively first).
 */
export const make = (model: Model.Loaded, options: Options = {}): Effect.Effect<Session, never, Scope.Scope> =>
  Effect.gen(function*() {
    const id = options.id ?? SessionId.make()
    const expose = options.exposeModelErrors ?? true
    const deadlineMs = options.stopDeadlineMs ?? 5000
    const startedAt = yield* Clock.currentTimeMillis
    const parent = yield* Effect.scope
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    // The generation loop's own scope, opened first so that it closes last: the model's resources are released
    // before the session waits on a loop that ignores interruption (which, in this thread, nothing can end; a model
    // host terminates its worker instead).
    const loopScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const abort = new AbortController()
    const ended = yield* Deferred.make<EndReason.EndReason>()
    const ending = yield* Ref.make(false)
    const recorder = options.recorder
    const bus = yield* (recorder === undefined
      ? FrameBus.make
      : FrameBus.makeCounted(() => recorder.framesDropped("slow_consumer", 1)))
    const outbox = yield* PubSub.sliding<unknown>(1024)
    const outputs = Output.of(model)
    const hasAudio = Object.values(outputs).some((track) => track.kind === "audio")
    const audio = yield* AudioOut.make(outputs, { sink: options.audioSink }).pipe(Scope.extend(scope))
    const sink = options.sink
    let lastFrame: Frame.Frame | undefined
    // The buffers this session's emits handed over: one emitted again fails, in-process as in a model host.
    const handedOver = new WeakSet<ArrayBuffer>()
    const tracks: Emission.Tracks = { outputs, primary: Output.primary(outputs), last: new Map(), handedOver }
    let lastLatency: number | undefined
    const pendingLatency: Array<{ readonly frame: number; readonly receivedAt: number }> = []

    const publish = (out: FrameBus.OutFrame) =>
      Effect.suspend(() => {
        while (pendingLatency.length > 0 && pendingLatency[0]!.frame <= out.index) {
          lastLatency = out.emittedAt - pendingLatency.shift()!.receivedAt
          recorder?.commandToFrame(lastLatency)
        }
        const published = bus.publish(out)
        return sink === undefined ? published : Effect.zipRight(published, sink(out))
      })

    const pacer = yield* Pacer.make({
      publish,
      ...(options.maxFps !== undefined ? { maxFps: options.maxFps } : {}),
      ...(recorder !== undefined ? { recorder } : {})
    })
      .pipe(Scope.extend(scope))
    // A model waiting for its next input frame is not generating: the pacer leaves that wait out of its rate.
    const inputs = yield* InputTracks.make(model.inputs, InputTracks.defaultCapacity, recorder, pacer.awaitingInput)

    const context: Context.Context<SessionContext> = Context.make(SessionContext, {
      sessionId: id,
      config: model.config,
      extraArgs: options.extraArgs ?? {},
      emit: (emitted, emitOptions) =>
        Effect.suspend(() => {
          if (abort.signal.aborted) return Effect.interrupt
          const block = Frame.toBlock(emitted, lastFrame, model.frameSize)
          if (block instanceof Frame.FrameError) return Effect.fail(block)
          const reused = Frame.handOver(block, handedOver)
          if (reused !== undefined) return Effect.fail(reused)
          const side = Emission.side(tracks, emitOptions, block.length, model.frameSize)
          if (side instanceof Frame.FrameError) return Effect.fail(side)
          lastFrame = block[block.length - 1]
          return Effect.asVoid(pacer.push(block, side))
        }),
      emitAudio: (track, samples) =>
        Effect.suspend(() => (abort.signal.aborted ? Effect.interrupt : audio.push(track, samples))),
      send: (message) => Effect.asVoid(PubSub.publish(outbox, message)),
      pauseMeasurement: pacer.pause,
      resumeMeasurement: pacer.resume,
      input: (name) => {
        const track = inputs.track(name)
        if (track !== undefined) return track
        const known = Object.keys(model.inputs)
        throw new Error(
          `ctx.input("${name}"): the model declares no such input track` +
            (known.length === 0
              ? " (it declares none: add `inputs` to Model.make)"
              : `; it declares ${known.join(", ")}`)
        )
      },
      signal: abort.signal,
      flush: Effect.suspend(() => {
        if (abort.signal.aborted) return Effect.void
        return Effect.flatMap(pacer.flush, () => {
          const black = Frame.toBlock(null, lastFrame, model.frameSize)
          return black instanceof Frame.FrameError ? Effect.void : Effect.asVoid(pacer.push(black))
        })
      })
    })
    const provide = <A, E>(effect: Effect.Effect<A, E, any>) =>
      Effect.provide(effect as Effect.Effect<A, E, SessionContext>, context)

    // The model's session set-up: its state, handlers and loop; its resources are scoped to the session.
    const behaviourExit = yield* model.startSession.pipe(
      Effect.provide(context),
      Scope.extend(scope),
      Effect.exit
    )

    const mailbox = yield* Mailbox.make({
      commands: model.commands,
      handlers: Exit.isSuccess(behaviourExit) ? behaviourExit.value.handlers : {},
      provide,
      nextFrame: pacer.nextIndex,
      // Only the last command before a frame counts toward its latency: a command waiting for the same frame as the
      // previous one replaces it, so a model that emits nothing for a while does not grow this list per command.
      onApplied: (ack) =>
        Effect.sync(() => {
          const entry = { frame: ack.frame, receivedAt: ack.receivedAt }
          const last = pendingLatency.length - 1
          if (last >= 0 && pendingLatency[last]!.frame === ack.frame) pendingLatency[last] = entry
          else pendingLatency.push(entry)
        }),
      ...(options.mailboxCapacity !== undefined ? { capacity: options.mailboxCapacity } : {}),
      ...(recorder !== undefined ? { recorder } : {}),
      exposeModelErrors: expose
    }).pipe(Scope.extend(scope))

    let generation: Fiber.RuntimeFiber<unknown, unknown> | undefined
    const hooks = Exit.isSuccess(behaviourExit) ? behaviourExit.value.hooks ?? {} : {}
    /** Runs a hook: its failure is logged, the session goes on. */
    const runHook = (name: string, hook: Effect.Effect<unknown, unknown, any>) =>
      provide(hook).pipe(
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logWarning(`the model's ${name} hook failed`, cause)
        ),
        Effect.asVoid,
        Effect.annotateLogs("session", id)
      )

    /** Ends the session once: stops the loop within the deadline, closes the scope, records the reason. */
    const end = (reason: EndReason.EndReason): Effect.Effect<EndReason.EndReason> =>
      Effect.uninterruptible(Effect.gen(function*() {
        const first = yield* Ref.getAndSet(ending, true)
        if (first) return yield* Deferred.await(ended)
        abort.abort()
        let final = reason
        if (generation !== undefined) {
          const interrupted = yield* Fiber.interrupt(generation).pipe(
            Effect.interruptible,
            Effect.timeout(deadlineMs),
            Effect.option
          )
          if (interrupted._tag === "None") {
            final = EndReason.DeadlineExceeded({ requested: EndReason.describe(reason), deadlineMs })
            yield* Effect.logWarning(`session ${id}: ${EndReason.describe(final)}`)
          }
        }
        if (hooks.sessionEnded !== undefined && generation !== undefined) {
          yield* runHook("sessionEnded", hooks.sessionEnded).pipe(
            Effect.interruptible,
            Effect.timeout(deadlineMs),
            Effect.ignore
          )
        }
        const closed = yield* Scope.close(scope, Exit.void).pipe(
          Effect.interruptible,
          Effect.timeout(deadlineMs),
          Effect.option
        )
        if (closed._tag === "None") {
          yield* Effect.logWarning(`session ${id}: finalizers still running after ${deadlineMs} ms; left behind`)
        }
        yield* bus.shutdown
        yield* inputs.shutdown
        yield* audio.shutdown
        yield* PubSub.shutdown(outbox)
        yield* Effect.logInfo(`session ${id} ended: ${EndReason.describe(final)}`)
        yield* Deferred.succeed(ended, final)
        return final
      })).pipe(Effect.annotateLogs("session", id))

    if (Exit.isFailure(behaviourExit)) {
      const error = yield* ModelErrors.report(expose, "session set-up", describeCause(behaviourExit.cause))
      yield* Effect.forkIn(end(EndReason.ModelFailed({ error })), parent)
    } else {
      if (hooks.sessionStarted !== undefined) yield* runHook("sessionStarted", hooks.sessionStarted)
      const loop = behaviourExit.value.run.pipe(Effect.provide(context), Effect.annotateLogs("session", id))
      // A fork inherits the caller's interruptibility: a session started inside acquireRelease or a layer would
      // otherwise run a loop that a stop cannot interrupt.
      generation = yield* Effect.forkIn(Effect.interruptible(loop), loopScope)
      const watched = generation
      yield* Effect.forkIn(
        Fiber.await(watched).pipe(
          Effect.flatMap((exit) => {
            // A loop that returned has its last frames released first (within the deadline), then the session ends.
            if (Exit.isSuccess(exit)) {
              return pacer.drained.pipe(
                Effect.timeout(deadlineMs),
                Effect.ignore,
                Effect.zipRight(end(EndReason.ModelFinished()))
              )
            }
            if (Cause.isInterruptedOnly(exit.cause)) return Effect.void
            return Effect.logError(`session ${id}: model loop failed`, exit.cause).pipe(
              Effect.zipRight(
                expose
                  ? Effect.succeed(describeCause(exit.cause))
                  : ModelErrors.report(false, "its loop failed", describeCause(exit.cause))
              ),
              Effect.flatMap((error) => end(EndReason.ModelFailed({ error })))
            )
          })
        ),
        // The watcher ends the session, closing its scope: it lives in the reactor's scope, not the one it closes.
        parent
      )
    }

    return {
      id,
      startedAt,
      submit: mailbox.submit,
      frames: (capacity = 8) => bus.subscribe(capacity),
      pushInput: inputs.push,
      messages: PubSub.subscribe(outbox),
      ...(hasAudio ? { audio: audio.subscribe } : {}),
      stats: Effect.gen(function*() {
        const counts = yield* mailbox.counts
        const now = yield* Clock.currentTimeMillis
        return {
          framesGenerated: yield* pacer.nextIndex,
          framesEmitted: yield* pacer.emitted,
          emissionFps: yield* pacer.fps,
          droppedFrames: yield* bus.dropped,
          droppedInputFrames: yield* inputs.dropped,
          commandsApplied: counts.applied,
          commandsRejected: counts.rejected,
          lastCommandToFrameMs: lastLatency,
          uptimeMs: now - startedAt
        }
      }),
      stop: end,
      ended: Deferred.await(ended),
      endReason: Effect.flatMap(
        Deferred.poll(ended),
        Option.match({ onNone: () => Effect.succeed(undefined), onSome: (reason) => reason })
      ),
      viewer: (event, viewer) =>
        Effect.suspend(() => {
          const hook = event === "connected" ? hooks.connected : hooks.disconnected
          if (hook === undefined || abort.signal.aborted) return Effect.void
          // forked in the session's scope: a hook that runs long holds neither the connection nor the session's end
          return Effect.asVoid(Effect.forkIn(runHook(event, Effect.suspend(() => hook(viewer))), scope))
        })
    } satisfies Session
  }).pipe(Effect.withSpan("Session.make"))
