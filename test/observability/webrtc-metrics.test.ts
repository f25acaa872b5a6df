/**
 * WebRTC link figures in `/metrics`: a viewer on the WebRTC transport (a bare wrtc peer) gets video, and libwebrtc's
 * `getStats`, sampled every few seconds, shows up as frames encoded, bitrate and round-trip samples, without a
 * per-session label.
 */
import { describe, expect, it } from "vitest"
import * as WebRtcStats from "../../src/transport/WebRtcStats.js"
import { eventually, http, startServer } from "../e2e/helpers.js"
import * as RawPeer from "../e2e/RawPeer.js"
import * as Prometheus from "./Prometheus.js"

describe("WebRTC getStats in /metrics", () => {
  it("reads a report's video figures", () => {
    const stats: Array<Record<string, unknown>> = [
      { type: "outbound-rtp", kind: "video", bytesSent: 1000, framesEncoded: 30 },
      { type: "remote-inbound-rtp", kind: "video", packetsLost: 2, roundTripTime: 0.004 },
      { type: "candidate-pair", nominated: true, currentRoundTripTime: 0.009 }
    ]
    expect(WebRtcStats.read({ forEach: (f) => stats.forEach((stat) => f(stat)) })).toEqual({
      bytesSent: 1000,
      framesEncoded: 30,
      packetsLost: 2,
      rtt: 0.004
    })
  })

  it("samples a live peer: frames encoded and bitrate grow, series carry no session id", async () => {
    const server = await startServer({ maxSessions: 2, idleTimeoutMs: 600_000 })
    try {
      const id = (await http(server, "POST", "/start_session", { body: {} })).body.session_id as string
      const peer = await RawPeer.connect(server.url, id)
      let samples = new Map<string, number>()
      const held = await eventually(
        async () => {
          samples = Prometheus.samples((await http(server, "GET", "/metrics")).body as string)
          return (samples.get("reactor_webrtc_frames_encoded_total") ?? 0) > 0 &&
            (samples.get("reactor_webrtc_bitrate_bps_count") ?? 0) > 0
        },
        120_000,
        500
      )
      expect(held, JSON.stringify([...samples].filter(([k]) => k.includes("webrtc")))).toBe(true)
      expect(samples.get("reactor_connections_live{transport=\"webrtc\"}")).toBe(1)
      for (const key of samples.keys()) expect(key).not.toContain(id)
      peer.close()
      await http(server, "DELETE", `/sessions/${id}`)
    } finally {
      await server.close()
    }
  }, 180_000)
})
