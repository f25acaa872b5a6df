/**
 * The WebRTC transport: a session's video as a VP8 track (libwebrtc encodes, paces and retransmits) and Reactor's
 * envelopes on the client's `data` channel, handled by the connection core like any text transport. Signalling is Reactor's local mode: the client posts an offer, the server
 * answers it non-trickle, the client polls for the answer. A session has one default peer (its controller's, on
 * Reactor's `sdp_params`): a new offer (the SDK's reconnect) replaces it. Other viewers offer on peers of their own
 * (`Viewer`: a key and a role; `http/ViewerRoutes` names them). The session registry sees each peer as a connection, so a
 * session whose last peer is lost is orphaned and a new one within the grace window resumes it.
 */
import { type ConfigError, Context, Deferred, Effect, Exit, FiberMap, Layer, Option, Queue, type Scope } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as WebRtcConfig from "../config/WebRtcConfig.js"
import * as CloseCode from "../protocol/CloseCode.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Envelope from "../protocol/Envelope.js"
import type * as SessionId from "../protocol/SessionId.js"
import * as SessionResponse from "../protocol/SessionResponse.js"
import * as WireError from "../protocol/WireError.js"
import * as Fibers from "../session/Fibers.js"
import * as Metrics from "../session/Metrics.js"
import * as Reactor from "../session/Reactor.js"
import type * as Registry from "../session/Registry.js"
import type * as Session from "../session/Session.js"
import * as Connection from "./Connection.js"
import * as FieldTrials from "./FieldTrials.js"
import type * as I420 from "./I420.js"
import * as Inbox from "./Inbox.js"
import * as Inputs from "./Inputs.js"
import * as WebRtcPeer from "./WebRtcPeer.js"
import * as WebRtcStats from "./WebRtcStats.js"
import * as Wrtc from "./Wrtc.js"

/** An offer as the routes decoded it. */
export interface Offer {
  readonly sdp: string
  readonly mapping: ReadonlyArray<WebRtcPeer.TrackMapping>
}

/** Where a session's answer stands. */
export type AnswerState =
  | { readonly _tag: "NoOffer" }
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Ready"; readonly sdp: string }
  | { readonly _tag: "Failed"; readonly error: WebRtcPeer.PeerError | Wrtc.Unavailable }

/** The WebRTC transport service. */
export interface Service {
  readonly config: WebRtcConfig.WebRtcConfig
  /**
   * Takes a client's offer: a new peer answers it and then serves the session, replacing the session's current
   * peer. Waits for the answer up to `answerTimeoutMs` (then it is still pending and `answer` says so).
   */
  readonly offer: (
    session: Session.Session,
    offer: Offer,
    viewer?: Viewer
  ) => Effect.Effect<void, WebRtcPeer.PeerError | Wrtc.Unavailable>
  /** The answer to the session's latest offer (of the viewer `key`, for a viewer's own connection). */
  readonly answer: (sessionId: SessionId.SessionId, key?: string) => Effect.Effect<AnswerState>
  /** Peers serving sessions now. */
  readonly peers: Effect.Effect<number>
  /**
   * Arms a stop for the next peer that the client closes (within `armedStopMs`): what `stop_session` without a
   * session id does when several sessions run, since the SDK closes its peer right after that call.
   */
  readonly armStop: Effect.Effect<void>
}

/**
 * A viewer's own peer, apart from the session's default one: `key` names it (a PUT of the same key replaces it, as
 * the SDK's reconnect does), `role` says whether it may drive the session. Without one, an offer is the default
 * controller's (`sdp_params` as Reactor's SDK 2.9.0 calls it).
 */
export interface Viewer {
  readonly key: string
  readonly role: Registry.Role
}

/** How long a peer whose session ended may take to close its data channel after the last message. */
const flushTimeoutMs = 1_000

/** How long an armed stop waits for a client to close its peer. */
export const armedStopMs = 2_000

/** The service tag. */
export class WebRtc extends Context.Tag("effect-reactor/transport/WebRtc")<WebRtc, Service>() {}

type Done = WebRtcPeer.Closed | "idle" | "replaced" | "session_ended"

/** What the connection core's close codes mean for a peer (1001 is the scope's own end: nothing left to do). */
const doneOf = (code: number): Done =>
  code === CloseCode.replaced
    ? "replaced"
    : code === CloseCode.idle
    ? "idle"
    : code === CloseCode.normal
    ? "session_ended"
    : "closed"

/** What arrived on the data channel, as queued for the inbox fiber. */
type Inbound = { readonly _tag: "Text"; readonly text: string } | { readonly _tag: "Binary"; readonly size: number }

/**
 * Messages waiting to be handled at most. A data channel cannot be paused as a socket can (nothing makes the client
 * wait), so beyond this a message is dropped with `too_many_messages`.
 */
export const inboxCapacity = 256

/**
 * Serves a session over one peer until the peer closes, goes silent, is replaced, or the session ends. The data
 * channel is a text transport of the connection core (`Connection`): envelopes, acks, errors, budgets, stats,
 * liveness, registry and `sessionEnded` are the core's; this adds the peer, the video track and the input tracks.
 */
const serve = (
  session: Session.Session,
  offer: Offer,
  answered: Deferred.Deferred<string, WebRtcPeer.PeerError | Wrtc.Unavailable>,
  config: WebRtcConfig.WebRtcConfig,
  inputs: Inputs.Service | undefined,
  /** Whether a stop is armed for the next peer the client closes (and takes it if so). */
  claimStop: () => boolean,
  role: Registry.Role
) =>
  Effect.gen(function*() {
    const server = yield* ServerConfig.Config
    const { model } = yield* Reactor.Reactor
    const engine = yield* Wrtc.loadWith(FieldTrials.of(config))
    const primaryTrack = SessionResponse.outputTracksOf(model)[0]?.name ?? "main_video"
    let refuse: (error: WireError.WireError) => void = () => {}
    // a watcher's camera does not reach the model: its input tracks are not read
    const onInput = inputs === undefined || role === "watcher"
      ? undefined
      : Inputs.receiver(
        inputs,
        session,
        engine.nonstandard.i420ToRgba as I420.I420ToRgba,
        (error) => refuse(error),
        yield* Effect.clock
      )
    const peer = yield* WebRtcPeer.answer(
      engine,
      {
        offer: offer.sdp,
        mapping: offer.mapping,
        tracks: [...SessionResponse.outputTracksOf(model), ...(inputs?.tracks ?? [])],
        ...(onInput !== undefined ? { onInput } : {})
      },
      config,
      server.maxMessageBytes
    )
    yield* Deferred.succeed(answered, peer.answer)
    const done = yield* Deferred.make<Done>()
    yield* Fibers.forkScoped(
      "webrtc peer watcher",
      Effect.flatMap(Deferred.await(peer.closed), (reason) => Deferred.succeed(done, reason))
    )

    // The core must not wait on the client: closing only says why; this fiber then ends and its scope closes the peer.
    // Envelopes in arrival order through the core, one at a time. Past `inboxCapacity` waiting, a message is dropped.
    // (No pause/resume: nothing stops a channel's sender; the capacity check below is the bound.)
    const inbox = Inbox.make<Inbound>({ pauseAt: Number.POSITIVE_INFINITY, pause: () => {}, resume: () => {} })
    const connection = yield* Connection.make({
      session,
      transport: "webrtc",
      role,
      io: { send: peer.send, close: (code) => Deferred.unsafeDone(done, Exit.succeed(doneOf(code))) },
      backlog: inbox.size
    })
    refuse = (error) => Effect.runSync(connection.refuse(error))
    const tooMany = WireError.make(
      "too_many_messages",
      `more than ${inboxCapacity} messages are waiting to be handled; this one was dropped`,
      { limit: inboxCapacity }
    )
    const binary = (size: number) =>
      WireError.make(
        "binary_not_accepted",
        `a binary message of ${size} bytes arrived; the data channel carries JSON text envelopes only`
      )
    const arrived = (item: Inbound) => {
      connection.touch()
      if (inbox.size() >= inboxCapacity) refuse(tooMany)
      else inbox.push(item)
    }
    peer.onMessage((text) => arrived({ _tag: "Text", text }), (size) => arrived({ _tag: "Binary", size }))
    yield* Fibers.forkScoped(
      "webrtc inbox",
      Effect.forever(Effect.flatMap(inbox.take, (item) =>
        item._tag === "Text"
          ? connection.receive(item.text)
          : Effect.zipRight(connection.admit, connection.refuse(binary(item.size)))))
    )
    yield* Effect.logDebug(
      `webrtc peer answered (resumed: ${connection.resumed}; video codecs: ${
        [...peer.codecs].map(([track, codec]) => `${track} ${codec}`).join(", ") || "none"
      })`
    )
    if (server.metrics) {
      yield* Fibers.forkScoped("webrtc stats sampler", WebRtcStats.sample(peer.getStats, Metrics.live))
    }

    // Video, once the client is there: the newest frame of each wake-up goes to the encoder (older ones in the same
    // batch are skipped, as libwebrtc would only drop them), and the last frame is repeated when the model pauses.
    yield* Fibers.forkScoped(
      "webrtc video",
      Effect.gen(function*() {
        yield* Deferred.await(peer.ready)
        const frames = yield* connection.subscribe(2)
        let last: I420.I420Frame | undefined
        const send = (frame: I420.I420Frame) => {
          try {
            peer.sendFrame(frame)
          } catch (error) {
            return Effect.logWarning("a frame could not be sent", error)
          }
          return Effect.void
        }
        yield* Effect.forever(Effect.gen(function*() {
          const batch = yield* Effect.timeoutOption(frames.takeBatch, config.repeatFrameMs)
          if (Option.isNone(batch)) {
            if (last !== undefined) yield* send(last)
            return
          }
          for (let i = 0; i < batch.value.length - 1; i++) connection.frameSkipped("superseded")
          const newest = batch.value[batch.value.length - 1]!
          last = peer.converter.convert(newest.frame)
          yield* send(last)
          connection.frameSent(newest)
          // the other video tracks' frames released with it, each on its own source; then its metadata, if any
          if (newest.extras !== undefined) {
            for (const extra of newest.extras) {
              const track = peer.videoTracks.get(extra.track)
              if (track !== undefined) track.send(track.converter.convert(extra.frame))
            }
          }
          if (newest.metadata !== undefined) {
            peer.send(Envelope.runtime("frameMetadata", {
              track: primaryTrack,
              frame: newest.index,
              metadata: newest.metadata
            }))
          }
        }))
      })
    )

    // Audio: each chunk as it is due to play, cut into libwebrtc's 10 ms frames (Opus).
    const audio = session.audio
    if (audio !== undefined) {
      yield* Fibers.forkScoped(
        "webrtc audio",
        Effect.gen(function*() {
          yield* Deferred.await(peer.ready)
          const chunks = yield* audio
          yield* Effect.forever(Effect.flatMap(Queue.take(chunks), (chunk) =>
            Effect.sync(() => {
              try {
                peer.sendAudio(chunk.track, chunk.samples, chunk.sampleRate, chunk.channels)
              } catch {
                // a closing peer: the chunk is dropped
              }
            })))
        })
      )
    }

    const reason = yield* Deferred.await(done)
    yield* Effect.logDebug(`webrtc peer closed: ${reason}`)
    if (reason === "session_ended") {
      // `sessionEnded` reaches the client before the peer closes: the channel closes after it (bounded)
      yield* Effect.ignore(Effect.timeout(peer.closeChannel, flushTimeoutMs))
    }
    if ((reason === "channel_closed" || reason === "connection_closed") && role === "controller" && claimStop()) {
      yield* Effect.logInfo("the client closed its peer after an unnamed stop_session: stopping its session")
      yield* session.stop(EndReason.Stopped({ by: "api" }))
    }
  }).pipe(
    Effect.tapError((error) => Deferred.fail(answered, error)),
    // a newer offer took over before this one was answered: its POST stops waiting at once
    Effect.onInterrupt(() =>
      Deferred.fail(
        answered,
        new WebRtcPeer.PeerError({
          code: "offer_replaced",
          message: "a newer offer for this session replaced this one"
        })
      )
    ),
    Effect.scoped,
    Effect.annotateLogs("session", session.id),
    Effect.withSpan("WebRtc.serve")
  )

/**
 * Builds the transport; its peers live in the current scope (closed when the server shuts down). A setting the
 * environment gives badly (`REACTOR_WEBRTC_MAX_KBPS=fast`) fails it with a message that names the variable.
 */
export const make: Effect.Effect<
  Service,
  ConfigError.ConfigError,
  Scope.Scope | ServerConfig.Config | Reactor.Reactor | Registry.Registry
> = Effect.gen(function*() {
  const config = yield* WebRtcConfig.current
  // The input tracks: a provided hook (tests), else the model's own declaration (`Model.make({ inputs })`).
  const { model } = yield* Reactor.Reactor
  const inputs = Option.getOrElse(yield* Effect.serviceOption(Inputs.Inputs), () => Inputs.fromModel(model))
  const context = yield* Effect.context<ServerConfig.Config | Reactor.Reactor | Registry.Registry>()
  const peers = yield* FiberMap.make<string>()
  // Released before the peers are interrupted: the server has stopped every session by then, so each peer is
  // saying `sessionEnded` and closes on its own; closing it sooner would drop that message.
  yield* Effect.addFinalizer(() => FiberMap.awaitEmpty(peers).pipe(Effect.timeout(2_000), Effect.ignore))
  /** By session id, or `id\u0000viewerKey` for a viewer's own peer. */
  const answers = new Map<string, Deferred.Deferred<string, WebRtcPeer.PeerError | Wrtc.Unavailable>>()
  const watched = new Set<string>()
  const clock = yield* Effect.clock
  let armedAt: number | undefined
  const claimStop = () => {
    const armed = armedAt !== undefined && clock.unsafeCurrentTimeMillis() - armedAt <= armedStopMs
    armedAt = undefined
    return armed
  }
  const scope = yield* Effect.scope

  const forget = (session: Session.Session) =>
    Effect.suspend(() => {
      if (watched.has(session.id)) return Effect.void
      watched.add(session.id)
      return Effect.forkIn(
        Effect.zipRight(
          session.ended,
          Effect.sync(() => {
            for (const key of answers.keys()) {
              if (key === session.id || key.startsWith(`${session.id}\u0000`)) answers.delete(key)
            }
            watched.delete(session.id)
          })
        ),
        scope
      )
    })
  /** The peer's key: the session's id for its default peer, with the viewer's key for a viewer's own. */
  const keyOf = (sessionId: string, viewerKey: string | undefined) =>
    viewerKey === undefined ? sessionId : `${sessionId}\u0000${viewerKey}`

  return {
    config,
    offer: (session, offer, viewer) =>
      Effect.gen(function*() {
        if ((yield* session.endReason) !== undefined) {
          return yield* new WebRtcPeer.PeerError({ code: "session_closed", message: `session ${session.id} has ended` })
        }
        const key = keyOf(session.id, viewer?.key)
        const answered = yield* Deferred.make<string, WebRtcPeer.PeerError | Wrtc.Unavailable>()
        answers.set(key, answered)
        yield* forget(session)
        yield* FiberMap.run(
          peers,
          key,
          serve(session, offer, answered, config, inputs, claimStop, viewer?.role ?? "controller").pipe(
            Effect.catchAllCause((cause) => Effect.logDebug("webrtc peer ended with an error", cause)),
            Effect.provide(context)
          )
        )
        yield* Effect.asVoid(Effect.timeout(Deferred.await(answered), config.answerTimeoutMs)).pipe(
          Effect.catchTag("TimeoutException", () => Effect.void)
        )
      }).pipe(Effect.withSpan("WebRtc.offer")),
    answer: (sessionId, viewerKey) =>
      Effect.gen(function*() {
        const answered = answers.get(keyOf(sessionId, viewerKey))
        if (answered === undefined) return { _tag: "NoOffer" } as const
        const polled = yield* Deferred.poll(answered)
        if (Option.isNone(polled)) return { _tag: "Pending" } as const
        return yield* polled.value.pipe(
          Effect.map((sdp): AnswerState => ({ _tag: "Ready", sdp })),
          Effect.catchAll((error) => Effect.succeed<AnswerState>({ _tag: "Failed", error }))
        )
      }),
    peers: FiberMap.size(peers),
    armStop: Effect.sync(() => {
      armedAt = clock.unsafeCurrentTimeMillis()
    })
  } satisfies Service
})

/** The transport as a layer: its settings from `WebRtcConfig` (provided, or the environment's over the defaults). */
export const layer: Layer.Layer<
  WebRtc,
  ConfigError.ConfigError,
  ServerConfig.Config | Reactor.Reactor | Registry.Registry
> = Layer.scoped(WebRtc, make)
