/**
 * Commands: the controls and key bindings rendered from the model's command list, sending a command (with a fresh
 * id, or queued while disconnected and sent on reconnect), and its answer: an ack (and, with its first frame, the
 * latency) or an error shown beside the control that sent it. Control values are kept per session.
 */
import { api, describe, sessionPath } from "./api.js"
import { createControls } from "./controls.js"
import { byId } from "./dom.js"
import { createKeys } from "./keys.js"
import * as latency from "./latency.js"
import { hook, push, state } from "./page.js"
import * as view from "./view.js"

const valuesKey = (sessionId) => `effect-reactor.values.${sessionId}`

/** Sends a runtime message (`ping`, `stop`, ...); false when the socket is not open. */
export function sendRuntime(type) {
  if (state.ws?.readyState !== WebSocket.OPEN) return false
  state.ws.send(JSON.stringify({ scope: "runtime", data: { type, data: {} } }))
  return true
}

/** Sends a command with a fresh id; `param` names the control that caused it, where its error will show. */
export function sendCommand(command, payload, param) {
  if (state.ws?.readyState !== WebSocket.OPEN || hook.status !== "live") {
    state.offline.set(command, { payload, param })
    controls.setBadge(command, "", "queued")
    return
  }
  const id = String(++state.seq)
  state.pending.set(id, { command, param, sentAt: performance.now() })
  if (state.pending.size > 500) state.pending.delete(state.pending.keys().next().value)
  // Uploaded files travel in the envelope's `uploads` section, as Reactor's SDK sends a FileRef.
  const data = {}
  const uploads = {}
  for (const [key, value] of Object.entries(payload ?? {})) {
    if (value && typeof value === "object" && value.$upload) uploads[key] = value.$upload
    else data[key] = value
  }
  const message = { type: command, data, id, ...(Object.keys(uploads).length > 0 ? { uploads } : {}) }
  state.ws.send(JSON.stringify({ scope: "application", data: message }))
  push(hook.sent, { id, command, payload })
}

/** Sends what was queued while disconnected (the latest payload per command). */
export function flushOffline() {
  const queued = [...state.offline]
  state.offline.clear()
  for (const [command, { payload, param }] of queued) sendCommand(command, payload, param)
}

/** Loads the control values the tab kept for a session (defaults for a new one). */
export function loadValues(sessionId) {
  try {
    state.values = JSON.parse(sessionStorage.getItem(valuesKey(sessionId)) ?? "{}") ?? {}
  } catch {
    state.values = {}
  }
}

/** Forgets the control values of a session that ended. */
export function forgetValues(sessionId) {
  sessionStorage.removeItem(valuesKey(sessionId))
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

/** Uploads a file for the current session (Reactor's two steps: reserve a slot, PUT the bytes): its reference. */
async function upload(file) {
  const mimeType = file.type || "application/octet-stream"
  const slot = await api("POST", sessionPath(state.sessionId, "uploads"), {
    name: file.name || "upload",
    size: file.size,
    mime_type: mimeType
  })
  if (slot.status !== 201) throw new Error(describe(slot))
  const put = await fetch(slot.body.presigned_url, { method: "PUT", body: file })
  if (!put.ok) throw new Error((await put.json().catch(() => null))?.message ?? `upload failed: HTTP ${put.status}`)
  return { upload_id: slot.body.presigned_id, name: file.name, mime_type: mimeType, size: file.size }
}

export const controls = createControls(byId("commands"), { values, send: sendCommand, upload })

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

/** Renders the model's commands as controls and binds their keys. */
export function renderCommands(commands) {
  for (const command of commands) if (command.keys) state.keysByCommand.set(command.name, command.keys)
  const merged = commands.map((command) => ({
    ...command,
    keys: command.keys ?? state.keysByCommand.get(command.name)
  }))
  if (!controls.render(merged)) return
  hook.commands = merged.map((command) => command.name)
  keys.bind(merged)
}

/** Shows a command's latency on its badge. */
export const showLatency = (command, ms) => controls.setBadge(command, "sent", `✓ ${Math.round(ms)} ms`)

export function onAck(data) {
  const sent = state.pending.get(data.id)
  state.pending.delete(data.id)
  push(hook.acks, data)
  const command = data.command ?? sent?.command
  if (!command) return
  controls.clearErrors(command)
  controls.setBadge(command, "sent", "✓")
  if (sent && typeof data.frame === "number") {
    latency.expectFrame(data.frame, sent.sentAt, command)
    // The frame may have arrived before its ack.
    if (hook.lastFrameIndex >= data.frame) latency.settle(hook.lastFrameIndex, showLatency)
  }
}

/** Shows an error beside the control that sent the command (or the parameter the runtime names). */
export function onError(data) {
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
