/**
 * Settings of the WebRTC transport: the bitrate cap, the ICE servers handed to clients, and how long signalling may
 * take. In the shape of `ServerConfig`: documented fields, one default each, `layer` over a partial, every field read
 * from the environment (`config`, `layerFromEnv`). Liveness and the orphan window are the server's
 * (`ServerConfig.idleTimeoutMs`, `graceMs`), as for every transport.
 */
import { Config as EffectConfig, ConfigError, Context, Effect, Either, Layer, Option, Schema } from "effect"

/** One ICE server in Reactor's shape (`uris`, not `urls`). */
export interface IceServer {
  readonly uris: ReadonlyArray<string>
  readonly credentials?: { readonly username: string; readonly password: string }
}

/** Settings of the WebRTC transport. */
export interface WebRtcConfig {
  /**
   * A video bitrate cap (kbit/s), written as `b=AS:` into the client's offer before the server applies it
   * (libwebrtc's `setParameters({maxBitrate})` throws in @roamhq/wrtc). Default none: libwebrtc's own limit for
   * the frame size (about 1.7 Mbit/s at 640x360). Measured here, any explicit cap, above or below that, adds about
   * 20 ms of frame latency, so set one only to save bandwidth.
   */
  readonly maxBitrateKbps: number | undefined
  /** ICE servers for `GET ice_servers`; none by default (loopback and LAN host candidates need none). */
  readonly iceServers: ReadonlyArray<IceServer>
  /** How long the server gathers its own ICE candidates for a non-trickle answer. Default 3000 ms. */
  readonly gatherTimeoutMs: number
  /** How long `POST sdp_params` is held for the answer, so the SDK's first poll finds it. Default 5000 ms. */
  readonly answerTimeoutMs: number
  /** The last frame is sent again after this long without a new one (keeps the decoder fed). Default 1000 ms. */
  readonly repeatFrameMs: number
  /**
   * VP8's temporal denoiser on the outgoing video. Default off: a model's frames carry no sensor noise, and bench 9
   * measured the denoiser at about a third of the encoder thread's CPU (EncoderQueue 10.2-10.3% of a core with it,
   * 6.7-7.2% without, 640x360 at 30 fps) for no visible gain.
   */
  readonly denoise: boolean
  /**
   * The video codecs in order of preference: the first one the client offers and the engine encodes is used (the
   * answer lists only these, in this order). @roamhq/wrtc 0.10 encodes VP8, VP9 and AV1; a codec it lacks (H264 there)
   * is skipped. Default VP8, VP9, H264, AV1: measured per codec in bench 9b (`bench/codecs.ts`).
   */
  readonly videoCodecs: ReadonlyArray<VideoCodec>
  /**
   * Congestion control's bounds on the video bitrate estimate (kbit/s), written into the offer's video codecs as
   * libwebrtc's `x-google-min-bitrate`, `x-google-start-bitrate` and `x-google-max-bitrate`. Reactor's defaults:
   * 500 / 4000 / 10000. Unlike `maxBitrateKbps` (a `b=AS:` cap) these bound the estimate, not the link.
   */
  readonly bweMinKbps: number
  readonly bweInitialKbps: number
  readonly bweMaxKbps: number
  /**
   * The playout delay the server asks of each viewer, sent in the RTP playout-delay header extension
   * (`http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`, which browsers offer): the receiver keeps its
   * jitter buffer between `min` and `max` ms. Default `{min: 0, max: 0}`: render each frame at once, as a game stream
   * does (Chromium's jitter buffer then holds a frame ~1 ms instead of ~25; bench 9c). `undefined` leaves it to the
   * receiver. A libwebrtc field trial (`WebRTC-ForceSendPlayoutDelay`), process-wide.
   */
  readonly playoutDelayMs: PlayoutDelay | "off"
  /**
   * How far ahead libwebrtc's pacer may send in one burst (ms; `WebRTC-BurstyPacer`, process-wide). Default 40: a
   * frame's packets leave together instead of spread over ~13 ms at 2.5x the estimated bitrate; 0 = libwebrtc's
   * strict pacing. Congestion control still bounds the rate.
   */
  readonly pacerBurstMs: number
  /**
   * Further libwebrtc field trials (`Name/value/` pairs, e.g. `WebRTC-Video-Pacing/factor:5.0/`), ahead of the ones
   * the two settings above make (so a trial named here wins). Process-wide: the first WebRTC peer of a process fixes
   * them. Default none.
   */
  readonly fieldTrials: string
}

/** A playout delay range (ms), as the RTP extension carries it (10 ms steps, up to 40950 ms). */
export interface PlayoutDelay {
  readonly min: number
  readonly max: number
}

/** The largest delay the extension can carry (12 bits of 10 ms). */
export const maxPlayoutDelayMs = 40950

/**
 * Parses a playout delay: `off` (none), `<ms>` (min = max) or `<min>,<max>` in ms, 0..40950 with min <= max. Returns
 * the delay, or what is wrong with the text.
 */
export const parsePlayoutDelay = (text: string): PlayoutDelay | "off" | { readonly error: string } => {
  const trimmed = text.trim().toLowerCase()
  if (trimmed === "off") return "off"
  const parts = trimmed.split(",").map((part) => part.trim())
  const numbers = parts.map((part) => (/^\d+$/.test(part) ? Number(part) : Number.NaN))
  if (parts.length > 2 || numbers.some((n) => !Number.isInteger(n) || n > maxPlayoutDelayMs)) {
    return {
      error: `expected "off", "<ms>" or "<min>,<max>" in ms (whole numbers 0..${maxPlayoutDelayMs}), got ${
        JSON.stringify(text)
      }`
    }
  }
  const [min, max = min] = numbers as [number, number?]
  if (min > max) return { error: `the playout delay's min (${min} ms) is above its max (${max} ms)` }
  return { min, max }
}

/**
 * Checks libwebrtc field trials: `Name/value/` pairs, names and values non-empty, printable ASCII. Returns what is
 * wrong, or `undefined`.
 */
export const checkFieldTrials = (trials: string): string | undefined => {
  if (trials === "") return undefined
  if (/[^\x21-\x7e]/.test(trials)) return "field trials are printable ASCII without spaces"
  const parts = trials.endsWith("/") ? trials.slice(0, -1).split("/") : []
  if (parts.length === 0 || parts.length % 2 !== 0 || parts.some((part) => part === "")) {
    return `field trials are Name/value/ pairs (e.g. WebRTC-Video-Pacing/factor:5.0/), got ${JSON.stringify(trials)}`
  }
  return undefined
}

/** The video codecs a preference may name. */
export const videoCodecNames = ["VP8", "VP9", "H264", "AV1"] as const
export type VideoCodec = typeof videoCodecNames[number]

/**
 * Parses a codec preference (`"VP9,VP8"`, case-insensitive): the codecs in order, or what is wrong with it (an unknown
 * name, a repeated one, an empty list).
 */
export const parseCodecs = (text: string): ReadonlyArray<VideoCodec> | string => {
  const names = text.split(",").map((name) => name.trim().toUpperCase()).filter((name) => name !== "")
  if (names.length === 0) return `expected a list of video codecs among ${videoCodecNames.join(", ")}`
  const out: Array<VideoCodec> = []
  for (const name of names) {
    const codec = videoCodecNames.find((known) => known === name)
    if (codec === undefined) return `unknown video codec "${name}"; the codecs are ${videoCodecNames.join(", ")}`
    if (out.includes(codec)) return `video codec "${name}" is listed twice`
    out.push(codec)
  }
  return out
}

/** The defaults, one per field. */
export const defaults: WebRtcConfig = {
  maxBitrateKbps: undefined,
  iceServers: [],
  gatherTimeoutMs: 3000,
  answerTimeoutMs: 5000,
  repeatFrameMs: 1000,
  denoise: false,
  videoCodecs: ["VP8", "VP9", "H264", "AV1"],
  bweMinKbps: 500,
  bweInitialKbps: 4000,
  bweMaxKbps: 10000,
  playoutDelayMs: { min: 0, max: 0 },
  pacerBurstMs: 40,
  fieldTrials: ""
}

/** Settings as callers give them: any field may be left out for its default. */
export type Input = { readonly [K in keyof WebRtcConfig]?: WebRtcConfig[K] | undefined }

/** Fills in the defaults. */
export const make = (input: Input = {}): WebRtcConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
  return out as unknown as WebRtcConfig
}

/** The settings service; the transport falls back to the environment's over the defaults when none is provided. */
export class Config extends Context.Tag("effect-reactor/transport/WebRtcConfig")<Config, WebRtcConfig>() {}

/** The settings as a layer, defaults filled in. */
export const layer = (input: Input = {}): Layer.Layer<Config> => Layer.succeed(Config, make(input))

const IceServers = Schema.parseJson(Schema.Array(Schema.Struct({
  uris: Schema.Array(Schema.String),
  credentials: Schema.optionalWith(Schema.Struct({ username: Schema.String, password: Schema.String }), {
    exact: true
  })
})))

const milliseconds = (name: string, description: string) =>
  EffectConfig.integer(name).pipe(
    EffectConfig.validate({ message: "expected a whole number of milliseconds >= 1", validation: (ms) => ms >= 1 }),
    EffectConfig.withDescription(description)
  )

const kbps = (name: string, description: string) =>
  EffectConfig.integer(name).pipe(
    EffectConfig.validate({ message: "expected an integer >= 1 (kbit/s)", validation: (kbps) => kbps >= 1 }),
    EffectConfig.withDescription(description)
  )

/** Each field from its environment variable (`REACTOR_WEBRTC_*`), checked and described; absent = none. */
const variables = {
  maxBitrateKbps: EffectConfig.integer("REACTOR_WEBRTC_MAX_KBPS").pipe(
    EffectConfig.validate({ message: "expected an integer >= 1 (kbit/s)", validation: (kbps) => kbps >= 1 }),
    EffectConfig.withDescription("WebRTC video bitrate cap (kbit/s)")
  ),
  iceServers: EffectConfig.string("REACTOR_WEBRTC_ICE_SERVERS").pipe(
    EffectConfig.mapOrFail((text) =>
      Either.mapLeft(
        Schema.decodeUnknownEither(IceServers)(text),
        () =>
          ConfigError.InvalidData(
            [],
            "expected JSON: a list of {\"uris\": [...], \"credentials\"?: {\"username\", \"password\"}}"
          )
      )
    ),
    EffectConfig.withDescription("ICE servers for clients, as JSON in Reactor's shape")
  ),
  gatherTimeoutMs: milliseconds("REACTOR_WEBRTC_GATHER_TIMEOUT_MS", "ICE gathering limit for an answer (ms)"),
  answerTimeoutMs: milliseconds("REACTOR_WEBRTC_ANSWER_TIMEOUT_MS", "how long sdp_params is held for the answer (ms)"),
  repeatFrameMs: milliseconds("REACTOR_WEBRTC_REPEAT_FRAME_MS", "the last frame is sent again after this long (ms)"),
  denoise: EffectConfig.boolean("REACTOR_WEBRTC_DENOISE").pipe(
    EffectConfig.withDescription("VP8's temporal denoiser on the outgoing video")
  ),
  videoCodecs: EffectConfig.string("REACTOR_WEBRTC_CODECS").pipe(
    EffectConfig.mapOrFail((text) => {
      const codecs = parseCodecs(text)
      return typeof codecs === "string" ? Either.left(ConfigError.InvalidData([], codecs)) : Either.right(codecs)
    }),
    EffectConfig.withDescription("video codecs in order of preference, e.g. VP9,VP8")
  ),
  bweMinKbps: kbps("REACTOR_WEBRTC_BWE_MIN_KBPS", "congestion control's lowest video bitrate (kbit/s)"),
  bweInitialKbps: kbps("REACTOR_WEBRTC_BWE_INITIAL_KBPS", "congestion control's starting video bitrate (kbit/s)"),
  bweMaxKbps: kbps("REACTOR_WEBRTC_BWE_MAX_KBPS", "congestion control's highest video bitrate (kbit/s)"),
  playoutDelayMs: EffectConfig.string("REACTOR_WEBRTC_PLAYOUT_DELAY").pipe(
    EffectConfig.mapOrFail((text) => {
      const delay = parsePlayoutDelay(text)
      return typeof delay === "object" && "error" in delay
        ? Either.left(ConfigError.InvalidData([], delay.error))
        : Either.right(delay)
    }),
    EffectConfig.withDescription("playout delay asked of viewers: off, <ms> or <min>,<max>")
  ),
  pacerBurstMs: EffectConfig.integer("REACTOR_WEBRTC_PACER_BURST_MS").pipe(
    EffectConfig.validate({
      message: "expected a whole number of milliseconds >= 0",
      validation: (ms) => ms >= 0 && ms <= 1000
    }),
    EffectConfig.withDescription("how far ahead libwebrtc's pacer may send in one burst (ms; 0 = strict pacing)")
  ),
  fieldTrials: EffectConfig.string("REACTOR_WEBRTC_FIELD_TRIALS").pipe(
    EffectConfig.mapOrFail((text) => {
      const wrong = checkFieldTrials(text)
      return wrong === undefined ? Either.right(text) : Either.left(ConfigError.InvalidData([], wrong))
    }),
    EffectConfig.withDescription("further libwebrtc field trials, Name/value/ pairs")
  )
} satisfies { readonly [K in keyof WebRtcConfig]-?: EffectConfig.Config<unknown> }

/** Every setting, each from its environment variable or else its default. */
export const config: EffectConfig.Config<WebRtcConfig> = EffectConfig.all({
  maxBitrateKbps: EffectConfig.withDefault(variables.maxBitrateKbps, defaults.maxBitrateKbps),
  iceServers: EffectConfig.withDefault(variables.iceServers, defaults.iceServers),
  gatherTimeoutMs: EffectConfig.withDefault(variables.gatherTimeoutMs, defaults.gatherTimeoutMs),
  answerTimeoutMs: EffectConfig.withDefault(variables.answerTimeoutMs, defaults.answerTimeoutMs),
  repeatFrameMs: EffectConfig.withDefault(variables.repeatFrameMs, defaults.repeatFrameMs),
  denoise: EffectConfig.withDefault(variables.denoise, defaults.denoise),
  videoCodecs: EffectConfig.withDefault(variables.videoCodecs, defaults.videoCodecs),
  bweMinKbps: EffectConfig.withDefault(variables.bweMinKbps, defaults.bweMinKbps),
  bweInitialKbps: EffectConfig.withDefault(variables.bweInitialKbps, defaults.bweInitialKbps),
  bweMaxKbps: EffectConfig.withDefault(variables.bweMaxKbps, defaults.bweMaxKbps),
  playoutDelayMs: EffectConfig.withDefault(variables.playoutDelayMs, defaults.playoutDelayMs),
  pacerBurstMs: EffectConfig.withDefault(variables.pacerBurstMs, defaults.pacerBurstMs),
  fieldTrials: EffectConfig.withDefault(variables.fieldTrials, defaults.fieldTrials)
})

/** The settings given in the environment, and only those. */
export const fromEnv: EffectConfig.Config<Input> = EffectConfig.map(
  EffectConfig.all({
    maxBitrateKbps: EffectConfig.option(variables.maxBitrateKbps),
    iceServers: EffectConfig.option(variables.iceServers),
    gatherTimeoutMs: EffectConfig.option(variables.gatherTimeoutMs),
    answerTimeoutMs: EffectConfig.option(variables.answerTimeoutMs),
    repeatFrameMs: EffectConfig.option(variables.repeatFrameMs),
    denoise: EffectConfig.option(variables.denoise),
    videoCodecs: EffectConfig.option(variables.videoCodecs),
    bweMinKbps: EffectConfig.option(variables.bweMinKbps),
    bweInitialKbps: EffectConfig.option(variables.bweInitialKbps),
    bweMaxKbps: EffectConfig.option(variables.bweMaxKbps),
    playoutDelayMs: EffectConfig.option(variables.playoutDelayMs),
    pacerBurstMs: EffectConfig.option(variables.pacerBurstMs),
    fieldTrials: EffectConfig.option(variables.fieldTrials)
  }),
  (values) => {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(values) as Array<[string, Option.Option<unknown>]>) {
      if (Option.isSome(value)) out[key] = value.value
    }
    return out as Input
  }
)

/** The settings as a layer: explicit ones over the environment's over the defaults. */
export const layerFromEnv = (input: Input = {}): Layer.Layer<Config, ConfigError.ConfigError> =>
  Layer.effect(
    Config,
    Effect.map(fromEnv, (env) => {
      const out: Record<string, unknown> = { ...env }
      for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
      return make(out as Input)
    })
  )

/** The provided settings, or the environment's over the defaults. */
export const current: Effect.Effect<WebRtcConfig, ConfigError.ConfigError> = Effect.flatMap(
  Effect.serviceOption(Config),
  Option.match({ onSome: Effect.succeed, onNone: () => config })
)
