/**
 * WebRTC link figures for the metrics: libwebrtc's `getStats` of each peer, sampled every few seconds (not per
 * frame), into series without a per-session label (`Metrics.defs.webrtc*`): round-trip time and outgoing bitrate as
 * histograms of samples, packets lost and frames encoded as counters.
 */
import { Effect } from "effect"
import type * as Metrics from "../session/Metrics.js"
import { defs } from "../session/Metrics.js"

/** A `getStats` report as read here: its entries, each a plain record (`RTCStatsReport`). */
export interface Report {
  readonly forEach: (f: (stat: Record<string, unknown>) => void) => void
}

/** How often a peer is sampled. */
export const everyMs = 5000

interface Totals {
  bytesSent: number
  framesEncoded: number
  packetsLost: number
  at: number
}

/** What one `getStats` report says, summed over its video streams. */
export const read = (report: Report) => {
  let bytesSent = 0
  let framesEncoded = 0
  let packetsLost = 0
  let rtt: number | undefined
  report.forEach((stat: Record<string, unknown>) => {
    if (stat.type === "outbound-rtp" && stat.kind === "video") {
      bytesSent += Number(stat.bytesSent ?? 0)
      framesEncoded += Number(stat.framesEncoded ?? 0)
    } else if (stat.type === "remote-inbound-rtp") {
      packetsLost += Math.max(0, Number(stat.packetsLost ?? 0))
      if (typeof stat.roundTripTime === "number") rtt = stat.roundTripTime
    } else if (stat.type === "candidate-pair" && stat.nominated === true && rtt === undefined) {
      if (typeof stat.currentRoundTripTime === "number") rtt = stat.currentRoundTripTime
    }
  })
  return { bytesSent, framesEncoded, packetsLost, rtt }
}

/** Samples a peer's statistics into the recorder's sink until interrupted. */
export const sample = (getStats: () => Promise<Report>, recorder: Metrics.Recorder): Effect.Effect<never> =>
  Effect.suspend(() => {
    // A new peer's counters start at zero.
    let last: Totals = { bytesSent: 0, framesEncoded: 0, packetsLost: 0, at: Date.now() }
    const once = Effect.tryPromise(getStats).pipe(
      Effect.map((report) => {
        const now = read(report)
        const at = Date.now()
        const sink = recorder.sink
        if (now.rtt !== undefined) sink.observe(defs.webrtcRttSeconds, now.rtt)
        const seconds = (at - last.at) / 1000
        if (seconds > 0) {
          sink.observe(defs.webrtcBitrateBps, (8 * Math.max(0, now.bytesSent - last.bytesSent)) / seconds)
        }
        sink.add(defs.webrtcFramesEncoded, Math.max(0, now.framesEncoded - last.framesEncoded))
        sink.add(defs.webrtcPacketsLost, Math.max(0, now.packetsLost - last.packetsLost))
        last = { bytesSent: now.bytesSent, framesEncoded: now.framesEncoded, packetsLost: now.packetsLost, at }
      }),
      Effect.ignore
    )
    return Effect.forever(Effect.zipRight(Effect.sleep(everyMs), once))
  })
