/**
 * One WebRTC peer connection on the server's side, answering a client's offer (non-trickle: the answer carries the
 * server's candidates). The client opens the `data` channel and one transceiver per capability track; the
 * `track_mapping` says which mid is which track. The server sends video on the `recvonly` (client's side) tracks
 * through an `RTCVideoSource`, and never opens data channels of its own (the SDK would swap its channel for it).
 */
import { Data, Deferred, Effect, Exit, type Scope } from "effect"
import type * as WebRtcConfig from "../config/WebRtcConfig.js"
import * as I420 from "./I420.js"
import * as Sdp from "./Sdp.js"
import type * as WebRtcStats from "./WebRtcStats.js"
import type * as Wrtc from "./Wrtc.js"

/** One entry of the client's `track_mapping`; `direction` is from the client's side. */
export interface TrackMapping {
  readonly name: string
  readonly kind: "video" | "audio"
  readonly direction: "recvonly" | "sendonly"
  readonly mid: string
}

/** A track the model offers (its capabilities). */
export interface Track {
  readonly name: string
  readonly kind: "video" | "audio"
  readonly direction: "recvonly" | "sendonly"
}

/** The offer cannot be answered; `message` says why, for the client. */
export class PeerError extends Data.TaggedError("PeerError")<{ readonly code: string; readonly message: string }> {}

/** The text channel the client opened, as the transport uses it. */
export interface Channel {
  readonly send: (text: string) => void
  readonly bufferedAmount: () => number
  readonly close: () => void
}

/** Why a peer stopped being usable. */
export type Closed = "connection_failed" | "connection_disconnected" | "connection_closed" | "channel_closed" | "closed"

/** A peer with its answer, its outgoing video and its lifecycle signals. */
export interface Peer {
  /** The answer SDP to give the client. */
  readonly answer: string
  /** Sends one RGB frame on the video track (converted to I420; libwebrtc encodes and paces it). */
  readonly sendFrame: (frame: I420.I420Frame) => void
  /** The RGB->I420 converter of this peer's stream. */
  readonly converter: I420.Converter
  /** Completed when the client's `data` channel is open. */
  readonly ready: Deferred.Deferred<Channel>
  /**
   * Sends a text message on the client's channel. Until the channel is open (the client's side opens a moment before
   * the server's), messages wait in order, up to `outboxLimit`; on a closed channel they are dropped.
   */
  readonly send: (text: string) => void
  /**
   * Closes the data channel after what was sent on it, and completes once it is closed: libwebrtc sends what is
   * buffered, then resets the channel's stream, which the client's side does only once it has received everything
   * before the reset. A channel still opening is opened (and its waiting messages sent) first. Callers bound it.
   */
  readonly closeChannel: Effect.Effect<void>
  /** Completed when the peer is no longer usable, with the reason. */
  readonly closed: Deferred.Deferred<Closed>
  /** libwebrtc's statistics of the peer (`RTCPeerConnection.getStats`). */
  readonly getStats: () => Promise<WebRtcStats.Report>
  /** Registers the handlers of the data channel's messages (before `ready` completes, so nothing is missed). */
  readonly onMessage: (text: (text: string) => void, binary: (size: number) => void) => void
}

/** Messages kept for a channel that is not open yet. */
export const outboxLimit = 256

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Checks the mapping against the model's tracks and the offer's media sections. */
export const checkMapping = (
  mapping: ReadonlyArray<TrackMapping>,
  tracks: ReadonlyArray<Track>,
  offer: string
): PeerError | undefined => {
  const sections = Sdp.media(offer)
  for (const entry of mapping) {
    const track = tracks.find((t) => t.name === entry.name)
    if (track === undefined) {
      return new PeerError({
        code: "unknown_track",
        message: `track_mapping names track ${JSON.stringify(entry.name)}; this model's tracks are ${
          tracks.map((t) => t.name).join(", ")
        }`
      })
    }
    if (track.kind !== entry.kind || track.direction !== entry.direction) {
      return new PeerError({
        code: "invalid_track",
        message: `track ${
          JSON.stringify(entry.name)
        } is ${track.kind} ${track.direction} here, not ${entry.kind} ${entry.direction}`
      })
    }
    const section = sections.find((s) => s.mid === entry.mid)
    if (section === undefined || section.kind !== entry.kind) {
      return new PeerError({
        code: "invalid_track",
        message: `track ${JSON.stringify(entry.name)} maps to mid ${
          JSON.stringify(entry.mid)
        }, which is no ${entry.kind} section of the offer`
      })
    }
  }
  for (const track of tracks) {
    if (track.direction === "recvonly" && !mapping.some((entry) => entry.name === track.name)) {
      return new PeerError({
        code: "invalid_track",
        message: `track_mapping lacks track ${
          JSON.stringify(track.name)
        } (${track.kind}, ${track.direction}); add a transceiver for it`
      })
    }
  }
  if (!sections.some((s) => s.kind === "application")) {
    return new PeerError({
      code: "no_data_channel",
      message: "the offer has no data channel: open one labelled \"data\" before creating the offer"
    })
  }
  return undefined
}

/** Answers an offer; the peer lives until the scope closes. */
export const answer = (
  engine: Wrtc.Engine,
  request: {
    readonly offer: string
    readonly mapping: ReadonlyArray<TrackMapping>
    readonly tracks: ReadonlyArray<Track>
    /** Receives each decoded frame of the client's video tracks (`sendonly` from its side), by track name. */
    readonly onInput?: (track: string, frame: I420.I420Frame) => void
  },
  config: WebRtcConfig.WebRtcConfig,
  maxMessageBytes: number
): Effect.Effect<Peer, PeerError, Scope.Scope> =>
  Effect.gen(function*() {
    const mappingError = checkMapping(request.mapping, request.tracks, request.offer)
    if (mappingError !== undefined) return yield* mappingError
    const ready = yield* Deferred.make<Channel>()
    const closed = yield* Deferred.make<Closed>()
    const channelClosed = yield* Deferred.make<void>()
    const end = (reason: Closed) => Deferred.unsafeDone(closed, Exit.succeed(reason))

    const pc = yield* Effect.acquireRelease(
      // The server gathers with the same ICE servers it hands its clients (STUN/TURN for a server behind NAT).
      Effect.sync(() =>
        new engine.RTCPeerConnection({
          iceServers: config.iceServers.map((server) => ({
            urls: [...server.uris],
            ...(server.credentials !== undefined
              ? { username: server.credentials.username, credential: server.credentials.password }
              : {})
          }))
        })
      ),
      (pc) =>
        Effect.sync(() => {
          end("closed")
          try {
            pc.close()
          } catch {
            // already closed
          }
        })
    )
    const source = new engine.nonstandard.RTCVideoSource({ needsDenoising: config.denoise })
    const track = source.createTrack()
    yield* Effect.addFinalizer(() => Effect.sync(() => track.stop()))

    let channel: RTCDataChannel | undefined
    // Messages that arrive before the transport registers its handlers wait here (the channel opens in a callback
    // the transport's fiber only hears about a moment later).
    let early: Array<string | number> | undefined = []
    let onText: (text: string) => void = (text) => early?.push(text)
    let onBinary: (size: number) => void = (size) => early?.push(size)
    const asChannel = (dc: RTCDataChannel): Channel => ({
      send: (text) => {
        if (dc.readyState !== "open") return
        try {
          dc.send(text)
        } catch {
          // closing: the message is dropped, as on a closed socket
        }
      },
      bufferedAmount: () => dc.bufferedAmount,
      close: () => dc.close()
    })
    // The channel open means DTLS and SCTP are up: the client can talk and the video flows.
    const outbox: Array<string> = []
    const checkReady = () => {
      if (channel !== undefined && channel.readyState === "open") {
        const open = asChannel(channel)
        for (const text of outbox.splice(0)) open.send(text)
        Deferred.unsafeDone(ready, Exit.succeed(asChannel(channel)))
      }
    }
    pc.onconnectionstatechange = () => {
      switch (pc.connectionState) {
        case "disconnected":
          return end("connection_disconnected")
        case "failed":
          return end("connection_failed")
        case "closed":
          return end("connection_closed")
      }
    }
    pc.ondatachannel = (event) => {
      const dc = event.channel
      // Only the client's `data` channel carries envelopes; a second channel or another label is not ours to serve.
      if (dc.label !== "data" || channel !== undefined) return
      channel = dc
      dc.onmessage = (message) => {
        const data: unknown = message.data
        if (typeof data === "string") onText(data)
        else onBinary(data instanceof ArrayBuffer ? data.byteLength : ArrayBuffer.isView(data) ? data.byteLength : 0)
      }
      // `open` can fire twice with libwebrtc: checkReady completes `ready` once.
      dc.onopen = checkReady
      dc.onclose = () => {
        Deferred.unsafeDone(channelClosed, Exit.void)
        end("channel_closed")
      }
      checkReady()
    }

    const stripped = Sdp.stripMdnsCandidates(request.offer)
    const offer = config.maxBitrateKbps === undefined ? stripped : Sdp.capBitrate(
      stripped,
      request.mapping.filter((entry) => entry.kind === "video" && entry.direction === "recvonly").map((entry) =>
        entry.mid
      ),
      config.maxBitrateKbps
    )
    yield* Effect.tryPromise({
      try: () => pc.setRemoteDescription({ type: "offer", sdp: offer }),
      catch: (error) => new PeerError({ code: "invalid_sdp", message: `the SDP offer was refused: ${describe(error)}` })
    })
    for (const entry of request.mapping) {
      const transceiver = pc.getTransceivers().find((t) => t.mid === entry.mid)
      if (transceiver === undefined) {
        return yield* new PeerError({
          code: "invalid_track",
          message: `the offer has no transceiver with mid ${JSON.stringify(entry.mid)}`
        })
      }
      if (entry.direction === "recvonly" && entry.kind === "video") {
        transceiver.direction = "sendonly"
        yield* Effect.tryPromise({
          try: () => transceiver.sender.replaceTrack(track),
          catch: (error) =>
            new PeerError({
              code: "internal_error",
              message: `the video track could not be attached: ${describe(error)}`
            })
        })
      } else if (entry.direction === "sendonly") {
        transceiver.direction = "recvonly"
        const onInput = request.onInput
        if (entry.kind === "video" && onInput !== undefined) {
          const sink = new engine.nonstandard.RTCVideoSink(transceiver.receiver.track)
          const name = entry.name
          sink.onframe = (event: { frame: I420.I420Frame }) => onInput(name, event.frame)
          yield* Effect.addFinalizer(() => Effect.sync(() => sink.stop()))
        }
      }
    }
    const local = yield* Effect.tryPromise({
      try: async () => {
        const description = await pc.createAnswer()
        await pc.setLocalDescription(description)
        await gathered(pc, config.gatherTimeoutMs)
        return pc.localDescription?.sdp ?? description.sdp ?? ""
      },
      catch: (error) =>
        new PeerError({ code: "invalid_sdp", message: `no answer could be made for the offer: ${describe(error)}` })
    })
    const converter = I420.make(engine.nonstandard.rgbaToI420 as I420.RgbaToI420)
    return {
      answer: Sdp.setMaxMessageSize(local, maxMessageBytes),
      converter,
      sendFrame: (frame) => source.onFrame(frame),
      getStats: () => pc.getStats(),
      ready,
      send: (text) => {
        if (channel !== undefined && channel.readyState === "open") return asChannel(channel).send(text)
        if ((channel === undefined || channel.readyState === "connecting") && outbox.length < outboxLimit) {
          outbox.push(text)
        }
      },
      closeChannel: Effect.zipRight(
        Effect.flatMap(Deferred.await(ready), (open) => Effect.sync(() => open.close())),
        Deferred.await(channelClosed)
      ),
      closed,
      onMessage: (text, binary) => {
        const waiting = early ?? []
        early = undefined
        onText = text
        onBinary = binary
        for (const item of waiting) typeof item === "string" ? text(item) : binary(item)
      }
    } satisfies Peer
  })

/** Resolves when ICE gathering is complete, or after `timeoutMs` (the answer then has what was gathered). */
const gathered = (pc: RTCPeerConnection, timeoutMs: number) =>
  new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve()
    const timer = setTimeout(done, timeoutMs)
    function done() {
      clearTimeout(timer)
      pc.removeEventListener("icegatheringstatechange", check)
      resolve()
    }
    function check() {
      if (pc.iceGatheringState === "complete") done()
    }
    pc.addEventListener("icegatheringstatechange", check)
  })
