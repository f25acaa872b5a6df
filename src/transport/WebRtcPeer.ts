/**
 * One WebRTC peer connection on the server's side, answering a client's offer (non-trickle: the answer carries the
 * server's candidates). The client opens the `data` channel and one transceiver per capability track; the
 * `track_mapping` says which mid is which track. The server sends video on the `recvonly` (client's side) tracks
 * through an `RTCVideoSource`, and never opens data channels of its own (the SDK would swap its channel for it).
 */
import { Data, Deferred, Effect, Exit, type Scope } from "effect"
import type * as WebRtcConfig from "../config/WebRtcConfig.js"
import * as Codecs from "./Codecs.js"
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
  /** Sends one RGB frame on the primary video track (converted to I420; libwebrtc encodes and paces it). */
  readonly sendFrame: (frame: I420.I420Frame) => void
  /** The RGB->I420 converter of this peer's stream. */
  readonly converter: I420.Converter
  /**
   * The other video output tracks the client receives, by name: each its own source (and encoder) and converter.
   * A track the client did not map is absent.
   */
  readonly videoTracks: ReadonlyMap<string, {
    readonly send: (frame: I420.I420Frame) => void
    readonly converter: I420.Converter
  }>
  /**
   * Sends audio on an audio output track the client receives (nothing for a track it did not map): 16-bit PCM,
   * fed to libwebrtc in 10 ms frames (Opus); a remainder waits for the track's next chunk.
   */
  readonly sendAudio: (track: string, samples: Int16Array, sampleRate: number, channels: number) => void
  /** The video codec the answer negotiated for each video track the server sends, by track name (e.g. `VP9`). */
  readonly codecs: ReadonlyMap<string, string>
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
    // One source per video track the server sends: the first one mapped of the model's video outputs is the primary.
    const primaryName = request.tracks.find((t) => t.kind === "video" && t.direction === "recvonly")?.name
    const videoSources = new Map<string, { readonly source: any; readonly track: MediaStreamTrack }>()
    const audioSources = new Map<string, { readonly source: any; readonly track: MediaStreamTrack }>()
    const sourceOf = (entry: TrackMapping) => {
      const table = entry.kind === "video" ? videoSources : audioSources
      const existing = table.get(entry.name)
      if (existing !== undefined) return existing
      const source = entry.kind === "video"
        ? new engine.nonstandard.RTCVideoSource({ needsDenoising: config.denoise })
        : new engine.nonstandard.RTCAudioSource()
      const created = { source, track: source.createTrack() as MediaStreamTrack }
      table.set(entry.name, created)
      return created
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const { track } of [...videoSources.values(), ...audioSources.values()]) track.stop()
      })
    )

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
    const videoMids = request.mapping.filter((entry) => entry.kind === "video" && entry.direction === "recvonly")
      .map((entry) => entry.mid)
    const bounded = Sdp.setBitrates(Sdp.preferCodecs(stripped, videoMids, config.videoCodecs), videoMids, {
      min: config.bweMinKbps,
      initial: config.bweInitialKbps,
      max: config.bweMaxKbps
    })
    const offer = config.maxBitrateKbps === undefined ? bounded : Sdp.capBitrate(
      bounded,
      videoMids,
      config.maxBitrateKbps
    )
    const capabilities = (engine.RTCRtpSender as any).getCapabilities?.("video")?.codecs as
      | ReadonlyArray<Codecs.Capability>
      | undefined
    const preferred = capabilities === undefined ? [] : Codecs.order(capabilities, config.videoCodecs)
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
      if (entry.direction === "recvonly") {
        transceiver.direction = "sendonly"
        if (entry.kind === "video" && preferred.length > 0) {
          try {
            transceiver.setCodecPreferences(preferred as Array<any>)
          } catch {
            // the client offered none of the preferred codecs: the answer keeps the offer's order
          }
        }
        const { track } = sourceOf(entry)
        yield* Effect.tryPromise({
          try: () => transceiver.sender.replaceTrack(track),
          catch: (error) =>
            new PeerError({
              code: "internal_error",
              message: `the ${entry.kind} track ${JSON.stringify(entry.name)} could not be attached: ${describe(error)}`
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
    const rgbaToI420 = engine.nonstandard.rgbaToI420 as I420.RgbaToI420
    const converter = I420.make(rgbaToI420)
    const primary = primaryName === undefined ? undefined : videoSources.get(primaryName)
    const videoTracks = new Map(
      [...videoSources].filter(([name]) => name !== primaryName).map(([name, { source }]) => [name, {
        send: (frame: I420.I420Frame) => source.onFrame(frame),
        converter: I420.make(rgbaToI420)
      }])
    )
    const negotiated = Sdp.videoCodecs(local)
    const codecs = new Map(
      request.mapping.flatMap((entry) => {
        const codec = entry.kind === "video" && entry.direction === "recvonly" ? negotiated.get(entry.mid) : undefined
        return codec === undefined ? [] : [[entry.name, codec] as const]
      })
    )
    const carry = new Map<string, Int16Array>()
    const sendAudio = (track: string, samples: Int16Array, sampleRate: number, channels: number) => {
      const target = audioSources.get(track)
      if (target === undefined) return
      const frame = (sampleRate / 100) * channels
      const held = carry.get(track)
      let all = samples
      if (held !== undefined && held.length > 0) {
        all = new Int16Array(held.length + samples.length)
        all.set(held)
        all.set(samples, held.length)
      }
      let at = 0
      for (; at + frame <= all.length; at += frame) {
        // a buffer of its own per 10 ms frame: the native side reads the whole buffer
        target.source.onData({
          samples: all.slice(at, at + frame),
          sampleRate,
          bitsPerSample: 16,
          channelCount: channels,
          numberOfFrames: sampleRate / 100
        })
      }
      carry.set(track, all.slice(at))
    }
    return {
      answer: Sdp.setMaxMessageSize(local, maxMessageBytes),
      converter,
      videoTracks,
      sendAudio,
      codecs,
      sendFrame: (frame) => primary?.source.onFrame(frame),
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
