import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import * as WebRtcConfig from "../../src/config/WebRtcConfig.js"

const withEnv = <A, E>(effect: Effect.Effect<A, E>, env: Record<string, string>) =>
  Effect.withConfigProvider(effect, ConfigProvider.fromMap(new Map(Object.entries(env))))

const fromEnv = (env: Record<string, string>, input: WebRtcConfig.Input = {}) =>
  withEnv(
    Effect.scoped(Effect.map(Layer.build(WebRtcConfig.layerFromEnv(input)), Context.get(WebRtcConfig.Config))),
    env
  )

describe("WebRtcConfig", () => {
  it.effect("layerFromEnv reads every field from its REACTOR_WEBRTC_* variable", () =>
    Effect.gen(function*() {
      const iceServers = [{ uris: ["turn:turn.example:3478"], credentials: { username: "u", password: "p" } }]
      const config = yield* fromEnv({
        REACTOR_WEBRTC_MAX_KBPS: "800",
        REACTOR_WEBRTC_ICE_SERVERS: JSON.stringify(iceServers),
        REACTOR_WEBRTC_GATHER_TIMEOUT_MS: "1500",
        REACTOR_WEBRTC_ANSWER_TIMEOUT_MS: "2500",
        REACTOR_WEBRTC_REPEAT_FRAME_MS: "400",
        REACTOR_WEBRTC_DENOISE: "true",
        REACTOR_WEBRTC_CODECS: "vp9, av1",
        REACTOR_WEBRTC_BWE_MIN_KBPS: "300",
        REACTOR_WEBRTC_BWE_INITIAL_KBPS: "1000",
        REACTOR_WEBRTC_BWE_MAX_KBPS: "2000",
        REACTOR_WEBRTC_PLAYOUT_DELAY: "20,100",
        REACTOR_WEBRTC_PACER_BURST_MS: "0",
        REACTOR_WEBRTC_FIELD_TRIALS: "WebRTC-Video-Pacing/factor:5.0/"
      })
      const expected: WebRtcConfig.WebRtcConfig = {
        maxBitrateKbps: 800,
        iceServers,
        gatherTimeoutMs: 1500,
        answerTimeoutMs: 2500,
        repeatFrameMs: 400,
        denoise: true,
        videoCodecs: ["VP9", "AV1"],
        bweMinKbps: 300,
        bweInitialKbps: 1000,
        bweMaxKbps: 2000,
        playoutDelayMs: { min: 20, max: 100 },
        pacerBurstMs: 0,
        fieldTrials: "WebRTC-Video-Pacing/factor:5.0/"
      }
      expect(config).toEqual(expected)
      expect(Object.keys(config).sort()).toEqual(Object.keys(WebRtcConfig.defaults).sort())
      for (const key of Object.keys(expected) as Array<keyof WebRtcConfig.WebRtcConfig>) {
        expect(expected[key]).not.toEqual(WebRtcConfig.defaults[key])
      }
    }))

  it.effect("explicit settings win; without an environment the defaults hold; current reads the same", () =>
    Effect.gen(function*() {
      expect(yield* fromEnv({ REACTOR_WEBRTC_MAX_KBPS: "800" }, { maxBitrateKbps: 300 })).toMatchObject({
        maxBitrateKbps: 300
      })
      expect(yield* fromEnv({})).toEqual(WebRtcConfig.defaults)
      expect(yield* withEnv(WebRtcConfig.current, { REACTOR_WEBRTC_REPEAT_FRAME_MS: "400" })).toMatchObject({
        repeatFrameMs: 400
      })
      expect(yield* withEnv(Effect.provide(WebRtcConfig.current, WebRtcConfig.layer({ denoise: true })), {})).toEqual(
        { ...WebRtcConfig.defaults, denoise: true }
      )
    }))

  it.effect("a bad value names its variable", () =>
    Effect.gen(function*() {
      const message = (env: Record<string, string>) => Effect.map(Effect.flip(fromEnv(env)), String)
      expect(yield* message({ REACTOR_WEBRTC_MAX_KBPS: "fast" })).toContain("REACTOR_WEBRTC_MAX_KBPS")
      expect(yield* message({ REACTOR_WEBRTC_ICE_SERVERS: "[{\"urls\": []}]" })).toContain(
        "REACTOR_WEBRTC_ICE_SERVERS"
      )
      expect(yield* message({ REACTOR_WEBRTC_ANSWER_TIMEOUT_MS: "0" })).toContain("REACTOR_WEBRTC_ANSWER_TIMEOUT_MS")
      const codecs = yield* message({ REACTOR_WEBRTC_CODECS: "VP9,MPEG2" })
      expect(codecs).toContain("REACTOR_WEBRTC_CODECS")
      expect(codecs).toContain(`unknown video codec "MPEG2"`)
      expect(yield* message({ REACTOR_WEBRTC_CODECS: "vp8,VP8" })).toContain(`"VP8" is listed twice`)
      expect(yield* message({ REACTOR_WEBRTC_BWE_MAX_KBPS: "0" })).toContain("REACTOR_WEBRTC_BWE_MAX_KBPS")
      const delay = yield* message({ REACTOR_WEBRTC_PLAYOUT_DELAY: "100,20" })
      expect(delay).toContain("REACTOR_WEBRTC_PLAYOUT_DELAY")
      expect(delay).toContain("min (100 ms) is above its max (20 ms)")
      expect(yield* message({ REACTOR_WEBRTC_PLAYOUT_DELAY: "soon" })).toContain(`expected "off"`)
      expect(yield* message({ REACTOR_WEBRTC_PLAYOUT_DELAY: "50000" })).toContain("0..40950")
      expect(yield* message({ REACTOR_WEBRTC_PACER_BURST_MS: "-1" })).toContain("REACTOR_WEBRTC_PACER_BURST_MS")
      const trials = yield* message({ REACTOR_WEBRTC_FIELD_TRIALS: "WebRTC-Video-Pacing" })
      expect(trials).toContain("REACTOR_WEBRTC_FIELD_TRIALS")
      expect(trials).toContain("Name/value/ pairs")
      expect(yield* message({ REACTOR_WEBRTC_FIELD_TRIALS: "A/b c/" })).toContain("without spaces")
    }))

  it.effect("the playout delay: off, one value for both bounds, or min,max", () =>
    Effect.gen(function*() {
      expect(yield* fromEnv({ REACTOR_WEBRTC_PLAYOUT_DELAY: "off" })).toMatchObject({ playoutDelayMs: "off" })
      expect(yield* fromEnv({ REACTOR_WEBRTC_PLAYOUT_DELAY: "40" })).toMatchObject({
        playoutDelayMs: { min: 40, max: 40 }
      })
      expect(yield* fromEnv({ REACTOR_WEBRTC_PLAYOUT_DELAY: " 0 , 0 " })).toMatchObject({
        playoutDelayMs: { min: 0, max: 0 }
      })
    }))
})
