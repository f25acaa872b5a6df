/**
 * The effect-reactor controller page: starts (or resumes) a session, shows its video, renders its commands as
 * controls, binds keys, and shows the runtime's errors and live stats. Plain browser JS, no build step; the wire
 * protocol is docs/PROTOCOL.md. This module owns the session's life (start, resume, reconnect, stop) and the socket.
 */
import { api, describe, sessionPath, wsUrl } from "./api.js"
import { inputTrackIndex, startCamera } from "./camera.js"
import { createControls } from "./controls.js"
import { byId, short } from "./dom.js"
import { createKeys } from "./keys.js"
import { createScreen, parseFrame } from "./video.js"
import * as view from "./view.js"

const SESSION_KEY = "effect-reactor.session"
const valuesKey = (sessionId) => `effect-reactor.values.${sessionId}`
const PING_MS = 5000
const MAX_BACKOFF_MS = 8000
const KEEP = 200

/** What browser tests observe (`window.reactorPage`): plain data, updated in place. */
const hook = {
  sessionId: null,
  status: "idle",
  resumed: false,
  model: null,
  framesReceived: 0,
  framesDrawn: 0,
  lastFrameIndex: -1,
  lastDrawnIndex: -1,
  frameSize: null,
  socketsOpened: 0,
  commands: [],
  sent: [],
  acks: [],
  errors: [],
  messages: [],
  /** Whether the camera is being sent to the model's input track. */
  camera: false,
  stats: null,
  latencyMs: null,
  endReason: null,
  /** Drops the socket as a network failure would (the page then reconnects). */
  dropConnection: () => state.ws?.close(4000, "dropped")
}
window.reactorPage = hook

const state = {
  sessionId: null,
  ws: null,
  attempt: 0,
  reconnectTimer: 0,
  pingTimer: 0,
  ended: false,
  replaced: false,
  seq: 0,
  /** id -> {command, param, sentAt}: commands sent and not answered yet. */
  pending: new Map(),
  /** Acks waiting for their first frame: {frame, sentAt, command}. */
  awaitingFrame: [],
  /** The latest payload per command that could not be sent while disconnected; sent on reconnect. */
  offline: new Map(),
  /** {command: {param: value}}: what the controls hold, kept per session in sessionStorage. */
  values: {},
  /** Key bindings by command: the start_session answer omits them, GET /capabilities and the socket carry them. */
  keysByCommand: new Map(),
  frameTimes: []
}

const push = (list, item) => {
  list.push(item)
  if (list.length > KEEP) list.shift()
}

// ---------------------------------------------------------------------------------------------------------------
// Session lifecycle

/** On load: resume the session this tab had (if the server still has it), or start a new one. */
async function boot() {
  loadCapabilities()
  const stored = sessionStorage.getItem(SESSION_KEY)
  if (stored) {
    setStatus("connecting", "resuming…")
    const info = await api("GET", sessionPath(stored, "info"))
    if (info.status === 200) {
      adopt(stored)
      return connect()
    }
    if (info.status === 401) return unauthorized()
    if (info.status !== 404) {
      view.log(`could not check session ${short(stored)}: ${describe(info)}; retrying`, true)
      setStatus("reconnecting", "server unreachable")
      state.reconnectTimer = setTimeout(boot, backoff())
      return
    }
    forget(stored)
    view.log(`session ${short(stored)} has ended; starting a new one`)
  }
  await startSession()
}

async function loadCapabilities() {
  const res = await api("GET", "capabilities")
  if (res.status !== 200 || !res.body) return
  setModel(res.body.model)
  offerCamera(res.body.tracks)
  if (Array.isArray(res.body.commands)) renderCommands(res.body.commands)
}

async function startSession() {
  clearTimeout(state.reconnectTimer)
  state.ended = false
  state.replaced = false
  state.attempt = 0
  view.hideNotice()
  setStatus("connecting", "starting…")
  view.overlay("Starting a session…")
  const res = await api("POST", "start_session", { supported_transports: [{ protocol: "websocket", version: "1" }] })
  if (res.status === 200 && res.body?.session_id) {
    adopt(res.body.session_id)
    setModel(res.body.model)
    if (Array.isArray(res.body.capabilities?.commands)) renderCommands(res.body.capabilities.commands)
    return connect()
  }
  if (res.status === 401) return unauthorized()
  const busy = res.body?.code === "too_many_sessions"
  setStatus("error", busy ? "server busy" : "no session")
  view.overlay(busy ? "The server is busy with other sessions." : "Could not start a session.")
  view.notice(`Could not start a session: ${describe(res)}`, { action: "Retry", onAction: startSession, error: true })
  push(hook.errors, { code: res.body?.code ?? "start_failed", message: describe(res), command: null, param: null })
}

/** Makes `id` the tab's session and shows the control values the tab had for it (defaults for a new one). */
function adopt(id) {
  const changed = state.sessionId !== null && state.sessionId !== id
  state.sessionId = id
  hook.sessionId = id
  // Frame indices, command ids and queued commands belong to one session.
  state.pending.clear()
  state.awaitingFrame = []
  state.offline.clear()
  hook.lastFrameIndex = -1
  sessionStorage.setItem(SESSION_KEY, id)
  try {
    state.values = JSON.parse(sessionStorage.getItem(valuesKey(id)) ?? "{}") ?? {}
  } catch {
    state.values = {}
  }
  view.setSession(id)
  view.showRunning(true)
  if (changed) controls.reset()
  else controls.showAll()
}

function forget(id) {
  sessionStorage.removeItem(SESSION_KEY)
  sessionStorage.removeItem(valuesKey(id))
}

function connect() {
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
function backoff() {
  const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** state.attempt)
  state.attempt++
  return delay * (0.8 + Math.random() * 0.4)
}

function stop() {
  if (!state.sessionId || state.ended) return
  byId("stop").disabled = true
  setStatus("connecting", "stopping…")
  const id = state.sessionId
  if (!sendRuntime("stop")) return stopOverHttp(id)
  // If the socket does not answer, stop over HTTP.
  setTimeout(() => !state.ended && state.sessionId === id && stopOverHttp(id), 3000)
}

async function stopOverHttp(id) {
  const res = await api("POST", "stop_session", { session_id: id })
  if (state.sessionId !== id || state.ended) return
  sessionEnded({ reason: res.body?.reason ?? "stopped", message: res.status === 200 ? "Stopped." : describe(res) })
}

function sessionEnded(data) {
  state.ended = true
  clearTimeout(state.reconnectTimer)
  clearInterval(state.pingTimer)
  hook.endReason = data?.reason ?? "ended"
  if (state.sessionId) forget(state.sessionId)
  const ws = state.ws
  state.ws = null
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000)
  setStatus("ended", "ended")
  view.overlay(`Session ended${data?.message ? `: ${data.message}` : "."}`)
  view.showRunning(false)
  view.log(`session ended (${hook.endReason})${data?.message ? `: ${data.message}` : ""}`)
}

function unauthorized() {
  state.ended = true
  setStatus("error", "unauthorized")
  view.overlay("Unauthorized: open this page with ?token=<token>.")
  view.notice("The server needs a token: open this page with ?token=<token>.", { error: true })
}

function setStatus(kind, text) {
  hook.status = kind
  view.setStatus(kind, text)
}

function setModel(model) {
  if (!model?.name) return
  hook.model = model
  view.setModel(model)
}

// ---------------------------------------------------------------------------------------------------------------
// Messages from the runtime

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
      return onStats(data)
    case "pong":
      return
    case "sessionEnded":
      return sessionEnded(data)
    default:
      view.log(`runtime: ${body.type} ${JSON.stringify(data)}`)
  }
}

function onAck(data) {
  const sent = state.pending.get(data.id)
  state.pending.delete(data.id)
  push(hook.acks, data)
  const command = data.command ?? sent?.command
  if (!command) return
  controls.clearErrors(command)
  controls.setBadge(command, "sent", "✓")
  if (sent && typeof data.frame === "number") {
    state.awaitingFrame.push({ frame: data.frame, sentAt: sent.sentAt, command })
    // The frame may have arrived before its ack.
    if (hook.lastFrameIndex >= data.frame) settleLatency(hook.lastFrameIndex)
  }
}

/** Shows an error beside the control that sent the command (or the parameter the runtime names). */
function onError(data) {
  const sent = data.id !== undefined ? state.pending.get(data.id) : undefined
  if (sent) state.pending.delete(data.id)
  const command = data.command ?? sent?.command ?? null
  const named = Array.isArray(data.issues) ? data.issues.find((issue) => controls.has(command, issue.path)) : undefined
  const param = named?.path ?? sent?.param ?? null
  push(hook.errors, { code: data.code, message: data.message, id: data.id, command, param })
  if (!command || !controls.showError(command, param, data.message, data.code)) {
    view.notice(`${data.code}: ${data.message}`, { error: true })
  }
  view.log(`error ${data.code}${command ? ` (${command})` : ""}: ${data.message}`, true)
}

function onStats(data) {
  hook.stats = data
  view.showStats(data)
}

// ---------------------------------------------------------------------------------------------------------------
// Video

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
  state.frameTimes.push(performance.now())
  settleLatency(frame.index)
  screen.show(frame)
}

/** Measures command -> frame for every ack whose first frame (index >= ack.frame) has now arrived. */
function settleLatency(index) {
  const now = performance.now()
  state.awaitingFrame = state.awaitingFrame.filter((waiting) => {
    if (index < waiting.frame) return true
    hook.latencyMs = now - waiting.sentAt
    controls.setBadge(waiting.command, "sent", `✓ ${Math.round(hook.latencyMs)} ms`)
    return false
  })
}

setInterval(() => {
  const now = performance.now()
  while (state.frameTimes.length > 0 && now - state.frameTimes[0] > 1000) state.frameTimes.shift()
  view.showPageStats({
    fps: state.ws ? state.frameTimes.length : null,
    frames: hook.framesReceived,
    latencyMs: hook.latencyMs
  })
}, 250)

// ---------------------------------------------------------------------------------------------------------------
// Commands

function sendRuntime(type) {
  if (state.ws?.readyState !== WebSocket.OPEN) return false
  state.ws.send(JSON.stringify({ scope: "runtime", data: { type, data: {} } }))
  return true
}

/** Sends a command with a fresh id; `param` names the control that caused it, where its error will show. */
function sendCommand(command, payload, param) {
  if (state.ws?.readyState !== WebSocket.OPEN || hook.status !== "live") {
    state.offline.set(command, { payload, param })
    controls.setBadge(command, "", "queued")
    return
  }
  const id = String(++state.seq)
  state.pending.set(id, { command, param, sentAt: performance.now() })
  if (state.pending.size > 500) state.pending.delete(state.pending.keys().next().value)
  state.ws.send(JSON.stringify({ scope: "application", data: { type: command, data: payload, id } }))
  push(hook.sent, { id, command, payload })
}

function flushOffline() {
  const queued = [...state.offline]
  state.offline.clear()
  for (const [command, { payload, param }] of queued) sendCommand(command, payload, param)
}

const values = {
  get: (command, param) => state.values[command]?.[param],
  set(command, param, value) {
    const entry = (state.values[command] ??= {})
    if (value === undefined) delete entry[param]
    else entry[param] = value
    if (state.sessionId) sessionStorage.setItem(valuesKey(state.sessionId), JSON.stringify(state.values))
  }
}

const controls = createControls(byId("commands"), { values, send: sendCommand })

/** A key binding's payload: shown in the command's controls, then sent as it is. */
const keys = createKeys({
  send(command, payload) {
    for (const [param, value] of Object.entries(payload ?? {})) {
      if (controls.has(command, param)) values.set(command, param, value)
    }
    controls.show(command, payload)
    sendCommand(command, payload ?? {}, null)
  }
})

function renderCommands(commands) {
  for (const command of commands) if (command.keys) state.keysByCommand.set(command.name, command.keys)
  const merged = commands.map((command) => ({
    ...command,
    keys: command.keys ?? state.keysByCommand.get(command.name)
  }))
  if (!controls.render(merged)) return
  hook.commands = merged.map((command) => command.name)
  keys.bind(merged)
}

byId("stop").addEventListener("click", stop)

/** The camera button, for a model that declares a video input track (its index in `capabilities.tracks`). */
const camera = { track: -1, stop: null }
function offerCamera(tracks) {
  camera.track = inputTrackIndex(tracks)
  byId("camera").hidden = camera.track < 0 || !navigator.mediaDevices?.getUserMedia
}
async function toggleCamera() {
  const button = byId("camera")
  if (camera.stop) {
    camera.stop()
    camera.stop = null
    hook.camera = false
    button.textContent = "Camera"
    return
  }
  button.disabled = true
  try {
    camera.stop = await startCamera({ track: camera.track, socket: () => state.ws })
    hook.camera = true
    button.textContent = "Stop camera"
    view.log("sending the camera to the model")
  } catch (error) {
    view.notice(`The camera could not start: ${error?.message ?? error}`, { error: true })
  } finally {
    button.disabled = false
  }
}
byId("camera").addEventListener("click", toggleCamera)
byId("restart").addEventListener("click", startSession)

boot()
