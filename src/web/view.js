/**
 * The page's chrome: the status pill, the model name, the overlay on the video, the notice bar and the message log.
 */
import { byId, el, fixed } from "./dom.js"

/** Shows the connection state: `idle`, `connecting`, `live`, `reconnecting`, `ended` or `error`. */
export function setStatus(kind, text) {
  const status = byId("status")
  status.dataset.state = kind
  status.textContent = text ?? kind
}

export function setModel(model) {
  byId("model-name").textContent = model.version ? `${model.name} v${model.version}` : model.name
  document.title = `${model.name} · effect-reactor`
}

export function setSession(id) {
  byId("session-id").textContent = id ?? ""
  byId("session-id").title = id ? `session ${id}` : ""
}

/** A message over the video, or none. */
export function overlay(text) {
  const node = byId("overlay")
  node.hidden = !text
  if (text) node.textContent = text
}

/** A bar under the video, with an optional action button. */
export function notice(text, { action, onAction, error = false } = {}) {
  const node = byId("notice")
  node.className = error ? "notice error" : "notice"
  node.replaceChildren(el("span", {}, text))
  if (action) {
    const button = el("button", { type: "button" }, action)
    button.addEventListener("click", onAction)
    node.append(button)
  }
  node.hidden = false
}

export function hideNotice() {
  byId("notice").hidden = true
}

let logCount = 0

/** Adds a line to the message log (newest first, 100 kept). */
export function log(text, isError = false) {
  const list = byId("log")
  const time = new Date().toLocaleTimeString([], { hour12: false })
  list.prepend(el("li", isError ? { class: "error" } : {}, el("time", {}, time), text))
  while (list.children.length > 100) list.lastChild.remove()
  byId("log-count").textContent = String(++logCount)
}

/** Shows the stop button while a session runs, the new-session button once it has ended. */
export function showRunning(running) {
  byId("stop").hidden = !running
  byId("stop").disabled = false
  byId("restart").hidden = running
}

const ms = (value) => (typeof value === "number" ? `${Math.round(value)} ms` : "–")

/** The runtime's `stats`: its fps, dropped frames and command-to-frame latency. */
export function showStats(stats) {
  byId("stat-fps").textContent = fixed(stats.fps, 1)
  byId("stat-dropped").textContent = stats.dropped ?? "–"
  byId("stat-latency").textContent = ms(stats.command_to_frame_ms)
}

/** What the page measures: frames received in the last second, in all, and command sent -> first frame after it. */
export function showPageStats({ fps, frames, latencyMs }) {
  byId("stat-page-fps").textContent = fps === null ? "–" : String(fps)
  byId("stat-frames").textContent = String(frames)
  byId("stat-page-latency").textContent = ms(latencyMs)
}

export function showFrameSize({ width, height }) {
  byId("stage").style.aspectRatio = `${width} / ${height}`
  byId("stat-size").textContent = `${width}×${height}`
}
