/**
 * The session's life: on load, resume the session this tab had (if the server still has it) or start one; make a
 * session the tab's own; stop it (over the socket, else over HTTP); and show how it ended.
 */
import { api, describe, sessionPath } from "./api.js"
import { offerCamera } from "./cameraButton.js"
import { controls, forgetValues, loadValues, renderCommands, sendRuntime } from "./commands.js"
import { byId, short } from "./dom.js"
import * as latency from "./latency.js"
import { hook, push, setModel, setStatus, state } from "./page.js"
import { backoff, connect } from "./socket.js"
import * as view from "./view.js"

const SESSION_KEY = "effect-reactor.session"

/** On load: resume the session this tab had (if the server still has it), or start a new one. */
export async function boot() {
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

export async function startSession() {
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
  latency.reset()
  state.offline.clear()
  hook.lastFrameIndex = -1
  sessionStorage.setItem(SESSION_KEY, id)
  loadValues(id)
  view.setSession(id)
  view.showRunning(true)
  if (changed) controls.reset()
  else controls.showAll()
}

/** Forgets a session the server no longer has (the tab will not try to resume it). */
export function forget(id) {
  sessionStorage.removeItem(SESSION_KEY)
  forgetValues(id)
}

export function stop() {
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

export function sessionEnded(data) {
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

export function unauthorized() {
  state.ended = true
  setStatus("error", "unauthorized")
  view.overlay("Unauthorized: open this page with ?token=<token>.")
  view.notice("The server needs a token: open this page with ?token=<token>.", { error: true })
}
