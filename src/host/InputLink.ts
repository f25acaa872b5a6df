/**
 * A session's input frames from the server to its model host: the other direction of `FrameLink`, on a
 * `MessagePort` of its own handed over in the `Start` call, one message per frame with the pixels' buffer
 * transferred, never copied. Frames are checked on the server before they are sent (`Input.check`, against the
 * model's declared inputs, which the server knows), so a bad frame is refused without a round trip.
 *
 * Flow control drops instead of waiting: at most `window` frames are in flight; while the worker has not taken them,
 * the newest frame per track waits and a newer one replaces it (drop-oldest, counted), so a model that reads its
 * webcam slowly sees the newest picture, and the server holds at most one frame per track.
 */
import type { MessagePort } from "node:worker_threads"
import type * as Input from "../model/Input.js"
import * as FrameLink from "./FrameLink.js"

/** Frames in flight to the worker at most. */
export const window = 2

/** One frame on the port. */
interface Wire {
  readonly track: string
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
  readonly capturedAt: number | undefined
}

/** The worker's answer: how many frames it took since its last answer (the credit it gives back). */
type Grant = number

/** The server's end: `send` posts a checked frame or holds it while the window is full; `close` ends the link. */
export const sender = (port: MessagePort, onDropped: (track: string) => void) => {
  let credit = window
  let closed = false
  const pending = new Map<string, Wire>()
  const post = (wire: Wire) => {
    credit--
    const buffer = wire.data.buffer
    port.postMessage(
      wire,
      buffer instanceof ArrayBuffer && buffer.byteLength >= FrameLink.transferMinBytes ? [buffer] : []
    )
  }
  port.on("message", (granted: Grant) => {
    credit += granted
    for (const [track, wire] of pending) {
      if (credit <= 0) break
      pending.delete(track)
      post(wire)
    }
  })
  port.on("close", () => {
    closed = true
    pending.clear()
  })
  return {
    /** Sends a frame the server has checked; its buffer is handed over. */
    send: (track: string, frame: Input.Incoming): void => {
      if (closed) return
      const wire: Wire = {
        track,
        width: frame.width,
        height: frame.height,
        data: frame.data,
        capturedAt: frame.capturedAt
      }
      if (credit > 0 && pending.size === 0) return post(wire)
      if (pending.has(track)) onDropped(track)
      pending.set(track, wire)
    },
    close: (): void => {
      closed = true
      pending.clear()
      port.close()
    }
  }
}

/**
 * The worker's end: hands every frame to `push` in arrival order and grants the credit back once per turn of the
 * event loop. Returns a function that closes the port.
 */
export const receive = (port: MessagePort, push: (track: string, frame: Input.Incoming) => void): () => void => {
  const took = FrameLink.granter(port)
  port.on("message", (wire: Wire) => {
    push(wire.track, {
      width: wire.width,
      height: wire.height,
      data: wire.data,
      ...(wire.capturedAt !== undefined ? { capturedAt: wire.capturedAt } : {})
    })
    took()
  })
  return () => port.close()
}
