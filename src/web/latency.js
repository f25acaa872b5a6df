/**
 * Latency and the page's own figures: each acked command waits for its first frame (index >= the ack's frame), and
 * the time from sending it to that frame's arrival is its command -> frame latency; the frame rate is the frames
 * received in the last second.
 */
import { hook, state } from "./page.js"
import * as view from "./view.js"

/** Acks waiting for their first frame: {frame, sentAt, command}. */
let awaiting = []
const frameTimes = []

/** Forgets the acks of the previous session (frame indices belong to one session). */
export function reset() {
  awaiting = []
}

/** An acked command whose first frame is `frame`. */
export function expectFrame(frame, sentAt, command) {
  awaiting.push({ frame, sentAt, command })
}

/** A frame arrived. */
export function frameReceived() {
  frameTimes.push(performance.now())
}

/**
 * Measures command -> frame for every ack whose first frame (index >= ack.frame) has now arrived: calls
 * `measured(command, ms)` for each.
 */
export function settle(index, measured) {
  const now = performance.now()
  awaiting = awaiting.filter((waiting) => {
    if (index < waiting.frame) return true
    hook.latencyMs = now - waiting.sentAt
    measured(waiting.command, hook.latencyMs)
    return false
  })
}

/** Shows the page's figures four times a second. */
export function showFigures() {
  setInterval(() => {
    const now = performance.now()
    while (frameTimes.length > 0 && now - frameTimes[0] > 1000) frameTimes.shift()
    view.showPageStats({
      fps: state.ws ? frameTimes.length : null,
      frames: hook.framesReceived,
      latencyMs: hook.latencyMs
    })
  }, 250)
}
