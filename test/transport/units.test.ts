/**
 * The WebRTC transport's pure parts: SDP edits, the transport choice, RGB->I420.
 */
import wrtc from "@roamhq/wrtc"
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as Selection from "../../src/protocol/Selection.js"
import * as I420 from "../../src/transport/I420.js"
import * as Sdp from "../../src/transport/Sdp.js"

/** The first index where two byte arrays differ (-1 when equal), so a mismatch says where without a huge diff. */
const firstDifference = (a: Uint8Array, b: Uint8Array) =>
  a.length !== b.length ? Math.min(a.length, b.length) : a.findIndex((value, i) => value !== b[i])

const offer = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "c=IN IP4 0.0.0.0",
  "b=AS:30000",
  "a=mid:0",
  "a=candidate:1 1 udp 2122260223 1f0c7b3e-aaaa.local 50000 typ host generation 0",
  "a=candidate:2 1 udp 2122260223 192.168.1.5 50001 typ host generation 0",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=mid:1",
  "a=max-message-size:65536",
  ""
].join("\r\n")

describe("transport: Sdp", () => {
  it("strips .local mDNS candidates and keeps the others", () => {
    const out = Sdp.stripMdnsCandidates(offer)
    expect(out).not.toMatch(/\.local/)
    expect(out).toMatch(/192\.168\.1\.5 50001/)
    expect(out.endsWith("\r\n")).toBe(true)
  })

  it("caps the bitrate of the named video sections only, after their c= line", () => {
    const out = Sdp.capBitrate(offer, ["0"], 1200).split("\r\n")
    const video = out.slice(
      out.indexOf("m=video 9 UDP/TLS/RTP/SAVPF 96"),
      out.findIndex((l) => l.startsWith("m=application"))
    )
    expect(video.filter((l) => l.startsWith("b="))).toEqual(["b=AS:1200"])
    expect(video.indexOf("b=AS:1200")).toBe(video.indexOf("c=IN IP4 0.0.0.0") + 1)
    expect(Sdp.capBitrate(offer, ["7"], 1200)).toBe(offer)
  })

  it("sets the data channel's max-message-size and lists the media sections", () => {
    const out = Sdp.setMaxMessageSize(offer, 262144)
    expect(out.match(/a=max-message-size:\d+/g)).toEqual(["a=max-message-size:262144"])
    expect(Sdp.media(offer)).toEqual([{ mid: "0", kind: "video" }, { mid: "1", kind: "application" }])
    expect(Sdp.hasCandidates(offer)).toBe(true)
  })
})

describe("transport: Selection", () => {
  const all = Selection.offered
  it("a client that lists nothing (the SDK's local mode) gets webrtc", () => {
    expect(Selection.select(undefined, all)).toEqual(Either.right("webrtc"))
  })
  it("the first transport the client lists that the server runs wins", () => {
    expect(
      Selection.select([{ protocol: "quic", version: "1" }, { protocol: "websocket", version: "1" }, {
        protocol: "webrtc"
      }], all)
    )
      .toEqual(Either.right("websocket"))
  })
  it("refuses malformed lists and lists with nothing in common, saying what the server speaks", () => {
    const bad = Selection.select("webrtc", all)
    expect(Either.isLeft(bad) && bad.left.code).toBe("invalid_request")
    const none = Selection.select([{ protocol: "quic", version: "1" }], all)
    expect(Either.isLeft(none) && none.left).toMatchObject({
      code: "no_common_transport",
      message: expect.stringContaining("webrtc, websocket, rpc")
    })
  })
})

describe("transport: I420", () => {
  it("converts RGB to BT.601 I420 through libyuv", () => {
    const converter = I420.make(wrtc.nonstandard.rgbaToI420)
    const width = 4
    const height = 2
    const rgb = new Uint8Array(width * height * 3)
    for (let p = 0; p < width * height; p++) rgb.set([255, 0, 0], p * 3)
    const out = converter.convert({ width, height, data: rgb })
    expect(out.data.length).toBe(I420.byteLength(width, height))
    const y = out.data.slice(0, 8)
    const u = out.data.slice(8, 10)
    const v = out.data.slice(10, 12)
    // pure red in limited-range BT.601: Y ~ 82, U ~ 90, V ~ 240
    for (const value of y) expect(Math.abs(value - 82)).toBeLessThanOrEqual(2)
    for (const value of u) expect(Math.abs(value - 90)).toBeLessThanOrEqual(2)
    for (const value of v) expect(Math.abs(value - 240)).toBeLessThanOrEqual(2)
  })

  it("widens word-aligned and unaligned RGB alike, whatever the pixel count", () => {
    // The aligned path reads three words per four pixels; an unaligned view (and the tail) goes pixel by pixel.
    for (const [width, height] of [[4, 2], [5, 3], [7, 7], [640, 360]] as const) {
      const bytes = width * height * 3
      const backing = new Uint8Array(bytes + 1)
      for (let i = 0; i < backing.length; i++) backing[i] = (i * 151 + (i >> 3) * 7) & 0xff
      const aligned = new Uint8Array(backing.buffer, 0, bytes)
      const unaligned = new Uint8Array(bytes + 1).subarray(1)
      unaligned.set(aligned)
      const a = I420.make(wrtc.nonstandard.rgbaToI420).convert({ width, height, data: aligned }).data
      const b = I420.make(wrtc.nonstandard.rgbaToI420).convert({ width, height, data: unaligned }).data
      expect(firstDifference(a, b)).toBe(-1)
      expect(new Set(a).size).toBeGreaterThan(2)
    }
  })

  it("reads decoded I420 back as packed RGB: libyuv's RGBA without its alpha, fresh buffers, any size", () => {
    const read = I420.reader(wrtc.nonstandard.i420ToRgba)
    for (const [width, height] of [[4, 2], [6, 3], [7, 7], [640, 360], [4, 2]] as const) {
      const i420 = new Uint8Array(I420.byteLength(width, height))
      for (let i = 0; i < i420.length; i++) i420[i] = (i * 97 + (i >> 4) * 13) & 0xff
      const frame = { width, height, data: i420 }
      const rgba = new Uint8Array(width * height * 4)
      wrtc.nonstandard.i420ToRgba(frame, { width, height, data: rgba })
      const expected = rgba.filter((_, i) => i % 4 !== 3)
      const first = read(frame)
      expect(first.length).toBe(width * height * 3)
      expect(firstDifference(first, expected)).toBe(-1)
      expect(read(frame) === first).toBe(false) // each frame in a buffer of its own, the model's to keep
    }
  })

  it("round-trips a picture within the chroma subsampling's error, and follows a size change", () => {
    const converter = I420.make(wrtc.nonstandard.rgbaToI420)
    for (const [width, height] of [[16, 8], [32, 16]] as const) {
      const rgb = new Uint8Array(width * height * 3)
      for (let p = 0; p < width * height; p++) rgb.set(p % width < width / 2 ? [200, 40, 40] : [40, 200, 40], p * 3)
      const out = converter.convert({ width, height, data: rgb })
      const rgba = new Uint8Array(width * height * 4)
      wrtc.nonstandard.i420ToRgba(out, { width, height, data: rgba })
      const sample = (x: number) => [...rgba.slice((height / 2 * width + x) * 4, (height / 2 * width + x) * 4 + 3)]
      expect(sample(1).every((c, i) => Math.abs(c - [200, 40, 40][i]!) <= 12)).toBe(true)
      expect(sample(width - 2).every((c, i) => Math.abs(c - [40, 200, 40][i]!) <= 12)).toBe(true)
    }
  })
})
