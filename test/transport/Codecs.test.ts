/**
 * The codec preference and the bitrate bounds as text and lists: what `setCodecPreferences` is given from the engine's
 * capabilities, and the `x-google-*-bitrate` parameters written into an offer's video codecs.
 */
import { describe, expect, it } from "vitest"
import * as Codecs from "../../src/transport/Codecs.js"
import * as Sdp from "../../src/transport/Sdp.js"

/** @roamhq/wrtc 0.10's `RTCRtpSender.getCapabilities("video").codecs`, as it answers here. */
const engine: ReadonlyArray<Codecs.Capability> = [
  { mimeType: "video/VP8", clockRate: 90000 },
  { mimeType: "video/rtx", clockRate: 90000 },
  { mimeType: "video/AV1", clockRate: 90000 },
  { mimeType: "video/VP9", clockRate: 90000, sdpFmtpLine: "profile-id=0" },
  { mimeType: "video/VP9", clockRate: 90000, sdpFmtpLine: "profile-id=2" },
  { mimeType: "video/red", clockRate: 90000 },
  { mimeType: "video/ulpfec", clockRate: 90000 }
]

const offer = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 35",
  "c=IN IP4 0.0.0.0",
  "a=mid:0",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:98 VP9/90000",
  "a=fmtp:98 profile-id=0;x-google-max-bitrate=1",
  "a=rtpmap:99 rtx/90000",
  "a=fmtp:99 apt=98",
  "a=rtpmap:35 AV1/90000",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "c=IN IP4 0.0.0.0",
  "a=mid:1",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  ""
].join("\r\n")

describe("codec preference", () => {
  it("orders the engine's codecs by the preference, all profiles of each, then the helpers; the rest are dropped", () => {
    expect(Codecs.order(engine, ["VP9", "VP8"]).map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ""}`.trim())).toEqual([
      "video/VP9 profile-id=0",
      "video/VP9 profile-id=2",
      "video/VP8",
      "video/rtx",
      "video/red",
      "video/ulpfec"
    ])
    expect(Codecs.order(engine, ["H264", "AV1"]).map((c) => c.mimeType)[0]).toBe("video/AV1")
    expect(Codecs.order(engine, ["H264"])).toEqual([])
    expect(Codecs.missing(engine, ["H264", "VP8", "AV1"])).toEqual(["H264"])
  })
})

describe("bitrate bounds in the offer", () => {
  it("sets min, start and max on every video codec of the mapped sections, replacing what was there", () => {
    const out = Sdp.setBitrates(offer, ["0"], { min: 500, initial: 4000, max: 10000 })
    const params = "x-google-min-bitrate=500;x-google-start-bitrate=4000;x-google-max-bitrate=10000"
    const lines = out.split("\r\n")
    expect(lines).toContain(`a=fmtp:96 ${params}`)
    expect(lines).toContain(`a=fmtp:98 profile-id=0;${params}`)
    expect(lines).toContain(`a=fmtp:35 ${params}`)
    // the fmtp line follows its rtpmap; retransmission and audio are untouched
    expect(lines[lines.indexOf("a=rtpmap:96 VP8/90000") + 1]).toBe(`a=fmtp:96 ${params}`)
    expect(lines).toContain("a=fmtp:97 apt=96")
    expect(lines).toContain("a=fmtp:111 minptime=10;useinbandfec=1")
    expect(out.match(/x-google-start-bitrate/g)).toHaveLength(3)
  })

  it("keeps the start between the bounds, and leaves sections it was not given alone", () => {
    expect(Sdp.setBitrates(offer, ["0"], { min: 800, initial: 100, max: 2000 })).toContain(
      "a=fmtp:96 x-google-min-bitrate=800;x-google-start-bitrate=800;x-google-max-bitrate=2000"
    )
    expect(Sdp.setBitrates(offer, ["7"], { min: 1, initial: 2, max: 3 })).toBe(offer)
  })

  it("reads the codec an answer negotiated per video mid", () => {
    expect([...Sdp.videoCodecs(offer)]).toEqual([["0", "VP8"]])
  })
})

describe("codec preference in the offer", () => {
  it("puts the preferred codecs first on the m= line of the mapped video sections, the rest after in their order", () => {
    const out = Sdp.preferCodecs(offer, ["0"], ["AV1", "VP9"])
    expect(out.split("\r\n")).toContain("m=video 9 UDP/TLS/RTP/SAVPF 35 98 96 97 99")
    expect([...Sdp.videoCodecs(out)]).toEqual([["0", "AV1"]])
    expect(Sdp.preferCodecs(offer, ["0"], ["H264"])).toBe(offer)
    expect(Sdp.preferCodecs(offer, ["1"], ["AV1"])).toBe(offer)
  })
})
