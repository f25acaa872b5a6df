/**
 * The official SDK's `Reactor` class run in Node, as its own integration tests do: `@roamhq/wrtc` stands in for the
 * browser's WebRTC globals. The received video track goes into an `RTCVideoSink`, so a test reads decoded pixels.
 */
import wrtc from "@roamhq/wrtc"
import { subprocessMs } from "../fixtures/bounds.js"

Object.assign(globalThis, {
  RTCPeerConnection: wrtc.RTCPeerConnection,
  RTCSessionDescription: wrtc.RTCSessionDescription,
  MediaStream: wrtc.MediaStream
})

/** The SDK's `Reactor`, imported after the globals exist. */
export const { Reactor } = await import("@reactor-team/js-sdk")

/** The last decoded frame of a track, as RGBA, and how many arrived. */
export interface Viewer {
  frames: number
  readonly pixel: (x: number, y: number) => ReadonlyArray<number> | undefined
  readonly stop: () => void
}

/** Watches a received video track. */
export const view = (track: MediaStreamTrack): Viewer => {
  const sink = new wrtc.nonstandard.RTCVideoSink(track)
  let last: { width: number; height: number; data: Uint8Array } | undefined
  const viewer: Viewer = {
    frames: 0,
    pixel: (x, y) => {
      if (last === undefined) return undefined
      const rgba = new Uint8Array(last.width * last.height * 4)
      wrtc.nonstandard.i420ToRgba(last, { width: last.width, height: last.height, data: rgba })
      const at = (y * last.width + x) * 4
      return [rgba[at]!, rgba[at + 1]!, rgba[at + 2]!]
    },
    stop: () => sink.stop()
  }
  sink.onframe = (event: { frame: { width: number; height: number; data: Uint8Array } }) => {
    viewer.frames++
    last = { ...event.frame, data: new Uint8Array(event.frame.data) }
  }
  return viewer
}

/** Waits until `check` holds, polling; fails with `what` after `timeoutMs`. */
export const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = subprocessMs) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Whether two colours are within `tolerance` per channel (VP8 is lossy). */
export const near = (actual: ReadonlyArray<number> | undefined, expected: ReadonlyArray<number>, tolerance = 40) =>
  actual !== undefined && expected.every((c, i) => Math.abs(c - actual[i]!) <= tolerance)
