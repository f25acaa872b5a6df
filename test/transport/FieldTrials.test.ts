/**
 * libwebrtc field trials in @roamhq/wrtc: the configuration's trials, and the string written where libwebrtc reads it
 * (read back from the loaded module's memory). Whether a trial then changes what goes on the wire is shown in
 * test/sdk/playout-delay.test.ts (Chromium's jitter buffer follows the playout delay the server sends).
 */
import { createRequire } from "node:module"
import { describe, expect, it } from "vitest"
import * as WebRtcConfig from "../../src/config/WebRtcConfig.js"
import * as FieldTrials from "../../src/transport/FieldTrials.js"

describe("FieldTrials", () => {
  it("the configuration's trials: its own first, then the playout delay and the pacer's burst", () => {
    expect(FieldTrials.of(WebRtcConfig.defaults)).toBe(
      "WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/WebRTC-BurstyPacer/burst:40ms/"
    )
    expect(FieldTrials.of(WebRtcConfig.make({ playoutDelayMs: "off", pacerBurstMs: 0 }))).toBe("")
    expect(
      FieldTrials.of(WebRtcConfig.make({
        playoutDelayMs: { min: 10, max: 200 },
        pacerBurstMs: 0,
        fieldTrials: "WebRTC-Video-Pacing/factor:5.0/"
      }))
    ).toBe("WebRTC-Video-Pacing/factor:5.0/WebRTC-ForceSendPlayoutDelay/min_ms:10,max_ms:200/")
  })

  it("refuses a malformed string, and a module that is not loaded", () => {
    expect(FieldTrials.install("WebRTC-Video-Pacing")).toMatchObject({ _tag: "Failed" })
    expect(FieldTrials.install("A/b/", "/no-such-module.node")).toMatchObject({
      _tag: "Failed",
      reason: expect.stringContaining("not loaded")
    })
    expect(FieldTrials.current()).toBeUndefined()
  })

  it.runIf(process.platform === "linux")("writes the trials where libwebrtc reads them, once per process", () => {
    createRequire(import.meta.url)("@roamhq/wrtc")
    expect(FieldTrials.read()).toBeUndefined()
    const trials = "WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/WebRTC-BurstyPacer/burst:40ms/"
    expect(FieldTrials.install(trials)).toEqual({ _tag: "Installed", trials })
    expect(FieldTrials.read()).toBe(trials)
    expect(FieldTrials.current()).toBe(trials)
    expect(FieldTrials.install(trials)).toEqual({ _tag: "Unchanged", trials })
    expect(FieldTrials.install("WebRTC-BurstyPacer/burst:10ms/")).toMatchObject({
      _tag: "Failed",
      reason: expect.stringContaining("process-wide")
    })
    expect(FieldTrials.read()).toBe(trials)
    // the engine still works with them: a peer connection makes an offer
    const wrtc = createRequire(import.meta.url)("@roamhq/wrtc")
    const pc = new wrtc.RTCPeerConnection()
    pc.addTransceiver("video", { direction: "sendonly" })
    return pc.createOffer().then((offer: { sdp: string }) => {
      expect(offer.sdp).toContain("m=video")
      pc.close()
    })
  })
})
