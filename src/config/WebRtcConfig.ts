/**
 * Settings of the WebRTC transport: the bitrate cap, the ICE servers handed to clients, and how long signalling may
 * take. Liveness and the orphan window are the server's (`ServerConfig.idleTimeoutMs`, `graceMs`), as for every
 * transport.
 */
import { Config as EffectConfig, type ConfigError, Context, Effect, Layer, Option } from "effect"

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
}

/** The defaults. */
export const defaults: WebRtcConfig = {
  maxBitrateKbps: undefined,
  iceServers: [],
  gatherTimeoutMs: 3000,
  answerTimeoutMs: 5000,
  repeatFrameMs: 1000,
  denoise: false
}

/** Settings as callers give them: any field may be left out for its default. */
export type Input = { readonly [K in keyof WebRtcConfig]?: WebRtcConfig[K] | undefined }

/** Fills in the defaults. */
export const make = (input: Input = {}): WebRtcConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [key, value] of Object.entries(input)) if (value !== undefined) out[key] = value
  return out as unknown as WebRtcConfig
}

/** The settings service; the server falls back to `fromEnv` over the defaults when none is provided. */
export class Config extends Context.Tag("effect-reactor/transport/WebRtcConfig")<Config, WebRtcConfig>() {}

/** The settings as a layer, defaults filled in. */
export const layer = (input: Input = {}) => Layer.succeed(Config, make(input))

/** The settings an operator may give in the environment. */
export const fromEnv: EffectConfig.Config<Input> = EffectConfig.all({
  maxBitrateKbps: EffectConfig.option(
    EffectConfig.integer("REACTOR_WEBRTC_MAX_KBPS").pipe(
      EffectConfig.withDescription("WebRTC video bitrate cap (kbit/s)")
    )
  ).pipe(EffectConfig.map(Option.getOrUndefined))
})

/** The provided settings, or the environment's over the defaults. */
export const current: Effect.Effect<WebRtcConfig, ConfigError.ConfigError> = Effect.flatMap(
  Effect.serviceOption(Config),
  Option.match({ onSome: Effect.succeed, onNone: () => Effect.map(fromEnv, make) })
)
