/**
 * A session whose model runs in a model host (a worker thread), seen from the server as an ordinary
 * `Session.Session`: the transports cannot tell it from an in-process one. Commands go to the worker's mailbox and
 * come back acked or with their specific error; frames and the model's messages stream in and fan out here, through
 * the server's own frame bus and outbox, to however many consumers the session has (frames on a `FrameLink`).
 *
 * The session's end is settled once, on the server: by the worker's word (the loop returned, failed, or stopped), or
 * by the server when the worker does not answer a stop within the deadline. A stop that overran its deadline leaves
 * a loop running, so the host is recycled first (`Options.recycle`: its thread terminated), and only then does the
 * session end, so its slot is free only once its loop is gone.
 */
import { Deferred, Effect, Exit, Option, PubSub, Ref, type Scope, Stream } from "effect"
import { MessageChannel } from "node:worker_threads"
import * as Input from "../model/Input.js"
import * as Output from "../model/Output.js"
import * as CommandError from "../protocol/CommandError.js"
import * as EndReason from "../protocol/EndReason.js"
import type * as SessionId from "../protocol/SessionId.js"
import * as FrameBus from "../session/FrameBus.js"
import type * as Mailbox from "../session/Mailbox.js"
import type * as Metrics from "../session/Metrics.js"
import type * as Session from "../session/Session.js"
import * as AudioLink from "./AudioLink.js"
import * as FrameLink from "./FrameLink.js"
import * as HostProtocol from "./HostProtocol.js"
import * as InputLink from "./InputLink.js"
import type * as ModelHost from "./ModelHost.js"

/** How long past the stop deadline the server waits for the worker's answer (the answer's own trip). */
const answerSlackMs = 250

/** Options of a remote session. */
export interface Options {
  readonly id: SessionId.SessionId
  readonly extraArgs: Readonly<Record<string, unknown>>
  readonly stopDeadlineMs: number
  /** The model's declared input tracks: frames for them are checked here and moved to the host (`InputLink`). */
  readonly inputs: Input.Inputs
  /** The model's output tracks: with an audio track, its chunks come on a port of their own (`AudioLink`). */
  readonly outputs?: Output.Outputs | undefined
  /** Terminates the session's host (and loads a fresh one); returns once its thread is gone. */
  readonly recycle: (why: string) => Effect.Effect<void>
  /** Records what happens on the server's side: frames dropped for slow consumers, input frames the host missed. */
  readonly recorder?: Metrics.Recorder | undefined
}

/** A remote session: a `Session.Session`, plus an end forced from the server's side. */
export interface RemoteSession extends Session.Session {
  /** Ends the session with `reason` without asking its host (the host is gone). */
  readonly abandon: (reason: EndReason.EndReason) => Effect.Effect<void>
}

const closed = new CommandError.SessionClosed({ message: "the session has ended; the command was not applied" })

const zeroStats: Session.Stats = {
  framesGenerated: 0,
  framesEmitted: 0,
  emissionFps: 0,
  droppedFrames: 0,
  droppedInputFrames: 0,
  commandsApplied: 0,
  commandsRejected: 0,
  lastCommandToFrameMs: undefined,
  uptimeMs: 0
}

/**
 * Starts a session on a host. Its frame, message and end streams run in the current scope: close it once the
 * session has ended (`ended`).
 */
export const make = (
  host: ModelHost.ModelHost,
  options: Options
): Effect.Effect<RemoteSession, ModelHost.HostLost | HostProtocol.LoadFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const { id, stopDeadlineMs } = options
    const recorder = options.recorder
    const bus = yield* (recorder === undefined
      ? FrameBus.make
      : FrameBus.makeCounted(() => recorder.framesDropped("slow_consumer", 1)))
    const channel = new MessageChannel()
    yield* FrameLink.receive(channel.port1, (out) => {
      const queued = bus.unsafePublish(out)
      if (queued !== undefined) Effect.runSync(queued)
    }).pipe(Effect.forkScoped)
    // Input frames go the other way on a port of their own, only for a model that declares input tracks.
    let inputsDropped = 0
    const inputChannel = Object.keys(options.inputs).length > 0 ? new MessageChannel() : undefined
    const inputLink = inputChannel === undefined ? undefined : InputLink.sender(inputChannel.port1, () => {
      inputsDropped++
      recorder?.inputDropped(1)
    })
    if (inputLink !== undefined) yield* Effect.addFinalizer(() => Effect.sync(inputLink.close))
    // Audio, for a model with an audio output track: released in the host when due, fanned out here.
    const hasAudio = Object.values(options.outputs ?? {}).some((track) => track.kind === "audio")
    const audioChannel = hasAudio ? new MessageChannel() : undefined
    const audioOut = hasAudio ? yield* PubSub.sliding<Output.OutAudio>(256) : undefined
    if (audioChannel !== undefined && audioOut !== undefined) {
      const close = AudioLink.receive(audioChannel.port1, (chunk) => {
        audioOut.unsafeOffer(chunk)
      })
      yield* Effect.addFinalizer(() => Effect.zipRight(Effect.sync(close), PubSub.shutdown(audioOut)))
    }
    const { startedAt } = yield* host.call(
      host.client.Start({
        id,
        extraArgs: { ...options.extraArgs },
        frames: channel.port2 as unknown as globalThis.MessagePort,
        ...(inputChannel !== undefined ? { inputs: inputChannel.port2 as unknown as globalThis.MessagePort } : {}),
        ...(audioChannel !== undefined ? { audio: audioChannel.port2 as unknown as globalThis.MessagePort } : {})
      })
    ).pipe(Effect.catchTag("RpcClientError", (error) => Effect.die(error)))
    const streams = yield* Effect.scope
    const outbox = yield* PubSub.sliding<unknown>(1024)
    const ended = yield* Deferred.make<EndReason.EndReason>()
    const settling = yield* Ref.make(false)
    const stopping = yield* Ref.make(false)
    let lastStats = zeroStats
    let over = false

    const fetchStats = Effect.map(host.call(host.client.GetStats({ session: id })), (stats) => {
      lastStats = stats
    })

    /** Ends the session once; a deadline overrun first recycles the host, so the loop is gone when it ends. */
    const settle = (reason: EndReason.EndReason, options_: { readonly recycle: boolean }): Effect.Effect<void> =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (yield* Ref.getAndSet(settling, true)) return yield* Effect.asVoid(Deferred.await(ended))
        over = true
        if (options_.recycle) {
          yield* Effect.logWarning(
            `session ${id} did not stop: ${EndReason.describe(reason)}; terminating its model host`
          )
          yield* options.recycle(`session ${id} did not stop within ${stopDeadlineMs} ms`)
        } else if (!(yield* host.isLost)) {
          // The session's final figures, kept by the host after the end.
          yield* fetchStats.pipe(Effect.interruptible, Effect.timeout(answerSlackMs), Effect.ignore)
        }
        yield* bus.shutdown
        yield* PubSub.shutdown(outbox)
        if (audioOut !== undefined) yield* PubSub.shutdown(audioOut)
        yield* Deferred.succeed(ended, reason)
      }))

    const settleFromHost = (wire: EndReason.EndReason) => {
      const reason = wire
      return settle(reason, { recycle: EndReason.$is("DeadlineExceeded")(reason) })
    }

    // The model's messages into the outbox, and the session's end.
    yield* host.client.Messages({ session: id }).pipe(
      Stream.runForEach((message) => PubSub.publish(outbox, message)),
      Effect.catchAllCause(() => Effect.void),
      Effect.forkScoped
    )
    yield* host.call(host.client.Ended({ session: id })).pipe(
      Effect.flatMap(settleFromHost),
      // A lost host is the reactor's to report: it abandons every session the host had.
      Effect.catchAllCause(() => Effect.void),
      Effect.forkScoped
    )

    const stop = (reason: EndReason.EndReason): Effect.Effect<EndReason.EndReason> =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (!(yield* Ref.getAndSet(stopping, true)) && !(yield* Deferred.isDone(ended))) {
          const answer = yield* host.call(host.client.Stop({ session: id, reason: reason }))
            .pipe(
              Effect.interruptible,
              Effect.timeout(stopDeadlineMs + answerSlackMs),
              Effect.option,
              Effect.catchAllCause(() => Effect.succeedNone)
            )
          if (Option.isSome(answer)) yield* settleFromHost(answer.value)
          else {
            const lost = yield* host.isLost
            yield* lost
              ? Effect.void // the reactor abandons it with the host's fate
              : settle(
                EndReason.DeadlineExceeded({ requested: EndReason.describe(reason), deadlineMs: stopDeadlineMs }),
                {
                  recycle: true
                }
              )
          }
        }
        return yield* Deferred.await(ended)
      }))

    const submit = (
      incoming: Mailbox.Incoming,
      onSettled?: (exit: Exit.Exit<Mailbox.Ack, CommandError.CommandError>) => void
    ): Effect.Effect<Mailbox.Ack, CommandError.CommandError> =>
      // once the session is over, refused here: no round trip to the host per command a client had queued
      Effect.suspend(() =>
        over
          ? Effect.fail(closed)
          : host.call(host.client.Submit({ session: id, type: incoming.type, data: incoming.data, id: incoming.id }))
      ).pipe(
        Effect.catchTags({ HostLost: () => Effect.fail(closed), RpcClientError: () => Effect.fail(closed) }),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (onSettled === undefined || (Exit.isFailure(exit) && exit.cause._tag !== "Fail")) return
            try {
              onSettled(exit)
            } catch {
              // The submitter's callback is its own business.
            }
          })
        )
      )

    const session: RemoteSession = {
      id,
      startedAt,
      submit,
      frames: (capacity = 8) => bus.subscribe(capacity),
      pushInput: (track, frame) =>
        Effect.suspend(() => {
          const error = Input.check(options.inputs, track, frame)
          if (error !== undefined) return Effect.fail(error)
          if (over || inputLink === undefined) {
            return Effect.fail(
              new Input.InputError({
                code: "session_closed",
                track,
                message: "the session has ended; the frame was not used"
              })
            )
          }
          return Effect.sync(() => inputLink.send(track, frame))
        }),
      messages: PubSub.subscribe(outbox),
      ...(audioOut !== undefined ? { audio: PubSub.subscribe(audioOut) } : {}),
      stats: Effect.gen(function*() {
        if (!(yield* Deferred.isDone(ended))) yield* Effect.ignore(fetchStats)
        return {
          ...lastStats,
          droppedFrames: lastStats.droppedFrames + (yield* bus.dropped),
          droppedInputFrames: lastStats.droppedInputFrames + inputsDropped
        }
      }),
      stop,
      ended: Deferred.await(ended),
      endReason: Effect.map(
        Deferred.poll(ended),
        Option.match({
          onNone: () => Effect.succeed(undefined),
          onSome: (reason) => reason
        })
      ).pipe(Effect.flatten),
      abandon: (reason) => settle(reason, { recycle: false }),
      // told without waiting for the host (a connection closing during a shutdown must not wait on it)
      viewer: (event, viewer) =>
        Effect.suspend(() =>
          over
            ? Effect.void
            : Effect.asVoid(Effect.forkIn(
              host.call(host.client.Viewer({ session: id, event, viewer })).pipe(
                Effect.timeout(stopDeadlineMs),
                Effect.catchAllCause(() => Effect.void)
              ),
              streams
            ))
        )
    }
    return session
  })
