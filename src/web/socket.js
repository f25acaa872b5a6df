/**
 * The session's socket: connecting (and reconnecting with backoff to the same session, or starting a new one when
 * the server no longer has it), what each close code means, the keep-alive ping, and the messages: runtime text
 * messages dispatched to the page's modules, binary frames drawn on the video canvas.
 */
import { api, sessionPath, wsUrl } from "./api.js"
import { flushOffline, onAck, onError, renderCommands, sendRuntime, showLatency } from "./commands.js"
import { byId, short } from "./dom.js"
import * as latency from "./latency.js"
import { hook, push, setModel, setStatus, state } from "./page.js"
import { forget, sessionEnded, startSession, unauthorized } from "./session.js"
import { createScreen, parseFrame } from "./video.js"
import * as view from "./view.js"

const PING_MS = 5000
const MAX_BACKOFF_MS = 8000

/** Opens a socket to the tab's session, replacing the current one. */
export function connect() {
  clearTimeout(state.reconnectTimer)
  const old = state.ws
  state.ws = null
  if (old && old.readyState <= WebSocket.OPEN) old.close(1000, "reconnecting")
  setStatus(state.attempt > 0 ? "reconnecting" : "connecting")
  const ws = new WebSocket(wsUrl(state.sessionId))
  ws.binaryType = "arraybuffer"
  state.ws = ws
  ws.onopen = () => {
    if (ws !== state.ws) return
    hook.socketsOpened++
    sendRuntime("requestCapabilities")
    clearInterval(state.pingTimer)
    state.pingTimer = setInterval(() => sendRuntime("ping"), PING_MS)
  }
  ws.onmessage = (event) => {
    if (ws !== state.ws) return
    if (typeof event.data === "string") onText(event.data)
    else onBinary(event.data)
  }
  ws.onclose = (event) => onClose(ws, event)
}

function onClose(ws, event) {
  if (ws !== state.ws) return
  clearInterval(state.pingTimer)
  state.ws = null
  if (state.ended) return
  switch (event.code) {
    case 4409:
      state.replaced = true
      setStatus("ended", "taken over")
      view.overlay("Another tab or client took over this session.")
      view.notice("Another tab or client took over this session.", {
        action: "Take it back",
        onAction: () => {
          view.hideNotice()
          state.replaced = false
          state.attempt = 0
          connect()
        }
      })
      return
    case 4401:
      return unauthorized()
    case 4404:
      forget(state.sessionId)
      view.log(`session ${short(state.sessionId)} is gone; starting a new one`, true)
      return startSession()
    case 4400:
      state.ended = true
      setStatus("error", "refused")
      view.overlay(`The server refused the connection: ${event.reason || "invalid request"}`)
      return
  }
  // 1001 (server shutting down), 4408 (idle), 4429 (too slow), 1006 (network): come back with backoff.
  setStatus("reconnecting")
  view.overlay("Connection lost; reconnecting…")
  state.reconnectTimer = setTimeout(reconnect, backoff())
}

/** Reconnects to the same session if the server still has it, otherwise starts a new one. */
async function reconnect() {
  if (state.ended || state.replaced) return
  const id = state.sessionId
  const info = await api("GET", sessionPath(id, "info"))
  if (id !== state.sessionId || state.ended) return
  if (info.status === 404) {
    forget(id)
    view.log(`session ${short(id)} is gone; starting a new one`, true)
    return startSession()
  }
  if (info.status === 401) return unauthorized()
  if (info.status !== 200) {
    setStatus("reconnecting", "server unreachable")
    state.reconnectTimer = setTimeout(reconnect, backoff())
    return
  }
  connect()
}

/** The next reconnection delay: 250 ms doubling up to 8 s, with jitter. */
export function backoff() {
  const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** state.attempt)
  state.attempt++
  return delay * (0.8 + Math.random() * 0.4)
}

function onText(text) {
  let message
  try {
    message = JSON.parse(text)
  } catch {
    return view.log(`unreadable message: ${text.slice(0, 200)}`, true)
  }
  const body = message?.data ?? {}
  if ((message?.scope ?? "application") !== "runtime") {
    push(hook.messages, body)
    return view.log(`${body.type ?? "message"}: ${JSON.stringify(body.data ?? body)}`)
  }
  const data = body.data ?? {}
  switch (body.type) {
    case "sessionReady":
      hook.resumed = Boolean(data.resumed)
      state.attempt = 0
      setModel(data.model)
      setStatus("live", data.resumed ? "live (resumed)" : "live")
      if (data.resumed) view.log(`resumed session ${short(state.sessionId)}`)
      view.overlay(hook.framesDrawn === 0 ? "Waiting for the first frame…" : null)
      flushOffline()
      return
    case "modelCapabilities":
      if (Array.isArray(data.commands)) renderCommands(data.commands)
      return
    case "commandAck":
      return onAck(data)
    case "error":
      return onError(data)
    case "stats":
      hook.stats = data
      view.showStats(data)
      return
    case "pong":
      return
    case "sessionEnded":
      return sessionEnded(data)
    default:
      view.log(`runtime: ${body.type} ${JSON.stringify(data)}`)
  }
}

const screen = createScreen(byId("video"), {
  onResize: (size) => {
    hook.frameSize = size
    view.showFrameSize(size)
  },
  onDrawn: (frame) => {
    hook.framesDrawn++
    hook.lastDrawnIndex = frame.index
    if (hook.status === "live" && !byId("overlay").hidden) view.overlay(null)
  },
  onError: (frame, error) => view.log(`frame ${frame.index} could not be drawn: ${error?.message ?? error}`, true)
})

function onBinary(buffer) {
  const frame = parseFrame(buffer)
  if (!frame || frame.track !== 0) return
  hook.framesReceived++
  hook.lastFrameIndex = frame.index
  latency.frameReceived()
  latency.settle(frame.index, showLatency)
  screen.show(frame)
}
