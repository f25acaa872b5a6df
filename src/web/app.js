/**
 * The effect-reactor controller page: starts (or resumes) a session, shows its video on a canvas, renders one control
 * per command parameter from the capabilities schema, binds keys, and shows errors and live stats.
 * Plain browser JS, no build step; the wire protocol is docs/PROTOCOL.md.
 *
 * Page URL parameters: `?token=` (passed to the API and the WebSocket), `?format=jpeg|rgb`, `?quality=1..100`.
 */

// ---------------------------------------------------------------------------------------------------------------
// Set-up

const $ = (id) => document.getElementById(id)
const query = new URLSearchParams(location.search)
const token = query.get("token")
const format = query.get("format")
const quality = query.get("quality")

const SESSION_KEY = "effect-reactor.session"
const valuesKey = (sessionId) => `effect-reactor.values.${sessionId}`
const PING_MS = 5000
const MAX_BACKOFF_MS = 8000

/** What browser tests observe. Plain data, updated in place. */
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
  stats: null,
  latencyMs: null,
  endReason: null
}
window.reactorPage = hook
/** Drops the socket as a network failure would (the page then reconnects); for tests. */
hook.dropConnection = () => state.ws?.close(4000, "dropped")

const state = {
  sessionId: null,
  ws: null,
  attempt: 0,
  reconnectTimer: 0,
  pingTimer: 0,
  ended: false,
  stopping: false,
  replaced: false,
  seq: 0,
  /** id -> {command, param, sentAt} of commands sent and not yet answered. */
  pending: new Map(),
  /** acks waiting for their first frame: {frame, sentAt} */
  awaitingFrame: [],
  /** Latest payload per command that could not be sent while disconnected; flushed on reconnect. */
  offline: new Map(),
  /** {command: {param: value}}: what the controls show; kept per session in sessionStorage. */
  values: {},
  keysByCommand: new Map(),
  frameTimes: []
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

const apiHeaders = () => ({
  "Reactor-API-Version": "1",
  "Content-Type": "application/json",
  ...(token ? { Authorization: `Bearer ${token}` } : {})
})

/** Calls the API; never throws: a network failure is `{status: 0}`. */
async function api(method, path, body) {
  try {
    const res = await fetch(new URL(path, location.href), {
      method,
      headers: apiHeaders(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    let json = null
    try {
      json = await res.json()
    } catch {}
    return { status: res.status, body: json }
  } catch (error) {
    return { status: 0, body: { code: "network", message: String(error?.message ?? error) } }
  }
}

const describe = (res) =>
  res.body?.message ?? (res.status === 0 ? "the server cannot be reached" : `HTTP ${res.status}`)

// ---------------------------------------------------------------------------------------------------------------
// Session lifecycle

async function boot() {
  loadCapabilities()
  const stored = sessionStorage.getItem(SESSION_KEY)
  if (stored) {
    setStatus("connecting", "resuming…")
    const info = await api("GET", `sessions/${encodeURIComponent(stored)}/info`)
    if (info.status === 200) {
      adopt(stored)
      connect()
      return
    }
    if (info.status === 404) {
      forget(stored)
      log(`session ${short(stored)} has ended; starting a new one`)
    } else if (info.status === 401) {
      return unauthorized()
    } else {
      log(`could not check session ${short(stored)}: ${describe(info)}; retrying`, true)
      setStatus("reconnecting", "server unreachable")
      state.reconnectTimer = setTimeout(boot, backoff())
      return
    }
  }
  await startSession()
}

async function loadCapabilities() {
  const res = await api("GET", "capabilities")
  if (res.status !== 200 || !res.body) return
  setModel(res.body.model)
  if (Array.isArray(res.body.commands)) renderCommands(res.body.commands)
}

async function startSession() {
  clearTimeout(state.reconnectTimer)
  state.ended = false
  state.stopping = false
  state.replaced = false
  hideNotice()
  setStatus("connecting", "starting…")
  overlay("Starting a session…")
  const res = await api("POST", "start_session", {})
  if (res.status === 200 && res.body?.session_id) {
    state.values = {}
    adopt(res.body.session_id)
    setModel(res.body.model)
    const commands = res.body.capabilities?.commands
    if (Array.isArray(commands)) renderCommands(commands)
    connect()
    return
  }
  if (res.status === 401) return unauthorized()
  const busy = res.body?.code === "too_many_sessions"
  setStatus("error", busy ? "server busy" : "no session")
  overlay(busy ? "The server is busy with other sessions." : "Could not start a session.")
  notice(`Could not start a session: ${describe(res)}`, "Retry", startSession, true)
  record({ code: res.body?.code ?? "start_failed", message: describe(res) })
}

/** Makes `id` the page's session; restores the control values the page had for it. */
function adopt(id) {
  state.sessionId = id
  hook.sessionId = id
  sessionStorage.setItem(SESSION_KEY, id)
  try {
    state.values = JSON.parse(sessionStorage.getItem(valuesKey(id)) ?? "{}") ?? {}
  } catch {
    state.values = {}
  }
  $("session-id").textContent = id
  $("session-id").title = `session ${id}`
  $("stop").hidden = false
  $("restart").hidden = true
  applyValuesToControls()
}

function forget(id) {
  sessionStorage.removeItem(SESSION_KEY)
  sessionStorage.removeItem(valuesKey(id))
}

function wsUrl(id) {
  const url = new URL(`sessions/${encodeURIComponent(id)}/transport/websocket`, location.href)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  if (token) url.searchParams.set("token", token)
  if (format) url.searchParams.set("format", format)
  if (quality) url.searchParams.set("quality", quality)
  return url.toString()
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
    else onFrame(event.data)
  }
  ws.onclose = (event) => onClose(ws, event)
}

function onClose(ws, event) {
  if (ws !== state.ws) return
  clearInterval(state.pingTimer)
  state.ws = null
  if (state.ended) return
  if (event.code === 4409) {
    state.replaced = true
    setStatus("ended", "taken over")
    overlay("Another tab or client took over this session.")
    notice("Another tab or client took over this session.", "Take it back", () => {
      hideNotice()
      state.attempt = 0
      connect()
    })
    return
  }
  if (event.code === 4401) return unauthorized()
  if (event.code === 4404) {
    forget(state.sessionId)
    log(`session ${short(state.sessionId)} is gone; starting a new one`, true)
    state.attempt = 0
    return startSession()
  }
  if (event.code === 4400) {
    state.ended = true
    setStatus("error", "refused")
    overlay(`The server refused the connection: ${event.reason || "invalid request"}`)
    return
  }
  // 1001 (server shutting down), 4408 (idle), 4429 (too slow), 1006 (network): come back with backoff.
  setStatus("reconnecting")
  overlay("Connection lost; reconnecting…")
  state.reconnectTimer = setTimeout(reconnect, backoff())
}

/** Reconnects to the same session if the server still has it, otherwise starts a new one. */
async function reconnect() {
  if (state.ended || state.replaced) return
  const id = state.sessionId
  const info = await api("GET", `sessions/${encodeURIComponent(id)}/info`)
  if (id !== state.sessionId || state.ended) return
  if (info.status === 404) {
    forget(id)
    log(`session ${short(id)} is gone; starting a new one`, true)
    state.attempt = 0
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

/** The next reconnection delay: 250 ms doubling to 8 s, with jitter. */
function backoff() {
  const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** state.attempt)
  state.attempt++
  return delay * (0.8 + Math.random() * 0.4)
}

function stop() {
  if (!state.sessionId || state.ended) return
  state.stopping = true
  $("stop").disabled = true
  setStatus("connecting", "stopping…")
  const id = state.sessionId
  if (state.ws?.readyState === WebSocket.OPEN) {
    sendRuntime("stop")
    // If the socket does not answer, stop over HTTP.
    setTimeout(() => {
      if (!state.ended && state.sessionId === id) stopOverHttp(id)
    }, 3000)
  } else {
    stopOverHttp(id)
  }
}

async function stopOverHttp(id) {
  const res = await api("POST", "stop_session", { session_id: id })
  if (state.sessionId !== id || state.ended) return
  sessionEnded({ reason: res.body?.reason ?? "stopped", message: res.status === 200 ? "Stopped." : describe(res) })
}

function sessionEnded(data) {
  state.ended = true
  state.stopping = false
  clearTimeout(state.reconnectTimer)
  clearInterval(state.pingTimer)
  hook.endReason = data?.reason ?? "ended"
  if (state.sessionId) forget(state.sessionId)
  const ws = state.ws
  state.ws = null
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000)
  setStatus("ended", "ended")
  overlay(`Session ended${data?.message ? `: ${data.message}` : "."}`)
  $("stop").hidden = true
  $("stop").disabled = false
  $("restart").hidden = false
  log(`session ended (${hook.endReason})${data?.message ? `: ${data.message}` : ""}`)
}

function unauthorized() {
  state.ended = true
  setStatus("error", "unauthorized")
  overlay("Unauthorized: open this page with ?token=<token>.")
  notice("The server needs a token: open this page with ?token=<token>.", undefined, undefined, true)
}

// ---------------------------------------------------------------------------------------------------------------
// Messages from the runtime

function onText(text) {
  let message
  try {
    message = JSON.parse(text)
  } catch {
    return log(`unreadable message: ${text.slice(0, 200)}`, true)
  }
  const scope = message?.scope ?? "application"
  const body = message?.data ?? {}
  if (scope !== "runtime") return onApplication(body)
  const data = body.data ?? {}
  switch (body.type) {
    case "sessionReady":
      hook.resumed = Boolean(data.resumed)
      hook.status = "live"
      state.attempt = 0
      setModel(data.model)
      setStatus("live", data.resumed ? "live (resumed)" : "live")
      if (data.resumed) log(`resumed session ${short(state.sessionId)}`)
      if (hook.framesReceived === 0) overlay("Waiting for the first frame…")
      else overlay(null)
      flushOffline()
      break
    case "modelCapabilities":
      if (Array.isArray(data.commands)) renderCommands(data.commands)
      break
    case "commandAck":
      onAck(data)
      break
    case "error":
      onError(data)
      break
    case "stats":
      onStats(data)
      break
    case "pong":
      break
    case "sessionEnded":
      sessionEnded(data)
      break
    default:
      log(`runtime: ${body.type} ${JSON.stringify(data)}`)
  }
}

function onApplication(body) {
  hook.messages.push(body)
  if (hook.messages.length > 200) hook.messages.shift()
  log(`${body.type ?? "message"}: ${JSON.stringify(body.data ?? body)}`)
}

function onAck(data) {
  const sent = state.pending.get(data.id)
  state.pending.delete(data.id)
  hook.acks.push(data)
  if (hook.acks.length > 200) hook.acks.shift()
  const command = data.command ?? sent?.command
  if (command) clearErrors(command)
  if (sent && typeof data.frame === "number") {
    state.awaitingFrame.push({ frame: data.frame, sentAt: sent.sentAt, command })
    // A frame with that index may already have arrived (the ack races the frame).
    if (hook.lastFrameIndex >= data.frame) settleLatency(hook.lastFrameIndex)
  }
  const panel = panels.get(command)
  if (panel) badge(panel, "sent", "✓")
}

function onError(data) {
  const sent = data.id !== undefined ? state.pending.get(data.id) : undefined
  if (sent) state.pending.delete(data.id)
  const command = data.command ?? sent?.command
  const panel = command ? panels.get(command) : undefined
  let param = sent?.param ?? null
  const issuePath = Array.isArray(data.issues) ? data.issues.find((issue) => panel?.fields.has(issue.path))?.path : undefined
  if (issuePath) param = issuePath
  record({ code: data.code, message: data.message, id: data.id, command: command ?? null, param })
  const field = panel && param ? panel.fields.get(param) : undefined
  if (field) {
    field.error.textContent = data.message
    field.wrap.classList.add("invalid")
  } else if (panel) {
    panel.error.textContent = data.message
  } else {
    notice(`${data.code}: ${data.message}`, undefined, undefined, true)
  }
  if (panel) {
    panel.el.classList.add("has-error")
    badge(panel, "failed", data.code)
  }
  log(`error ${data.code}${command ? ` (${command})` : ""}: ${data.message}`, true)
}

function record(error) {
  hook.errors.push(error)
  if (hook.errors.length > 200) hook.errors.shift()
}

function onStats(data) {
  hook.stats = data
  $("stat-fps").textContent = fixed(data.fps, 1)
  $("stat-dropped").textContent = data.dropped ?? "–"
  $("stat-latency").textContent = data.command_to_frame_ms == null ? "–" : `${Math.round(data.command_to_frame_ms)} ms`
}

// ---------------------------------------------------------------------------------------------------------------
// Video

const canvas = $("video")
const ctx2d = canvas.getContext("2d", { alpha: false })
let nextFrame = null
let drawing = false
let imageData = null

function onFrame(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 24) return
  const view = new DataView(buffer)
  if (view.getUint8(0) !== 0x52 || view.getUint8(1) !== 0x46) return
  const codec = view.getUint8(3)
  const track = view.getUint16(4, true)
  if (track !== 0) return
  const index = view.getUint32(8, true)
  const width = view.getUint16(12, true)
  const height = view.getUint16(14, true)
  hook.framesReceived++
  hook.lastFrameIndex = index
  const now = performance.now()
  state.frameTimes.push(now)
  while (state.frameTimes.length > 0 && now - state.frameTimes[0] > 1000) state.frameTimes.shift()
  settleLatency(index)
  // Latest wins: a frame that arrives while the previous one decodes replaces the waiting one.
  nextFrame = { codec, index, width, height, payload: new Uint8Array(buffer, 24) }
  if (!drawing) drawLoop()
}

/** Measures command -> frame for every ack whose first frame has now arrived. */
function settleLatency(index) {
  const now = performance.now()
  state.awaitingFrame = state.awaitingFrame.filter((waiting) => {
    if (index < waiting.frame) return true
    hook.latencyMs = now - waiting.sentAt
    const panel = panels.get(waiting.command)
    if (panel) badge(panel, "sent", `✓ ${Math.round(hook.latencyMs)} ms`)
    return false
  })
}

async function drawLoop() {
  drawing = true
  try {
    while (nextFrame) {
      const frame = nextFrame
      nextFrame = null
      try {
        await draw(frame)
        hook.framesDrawn++
        hook.lastDrawnIndex = frame.index
      } catch (error) {
        log(`frame ${frame.index} could not be decoded: ${error?.message ?? error}`, true)
      }
    }
  } finally {
    drawing = false
  }
  if (hook.framesDrawn > 0 && hook.status === "live") overlay(null)
}

async function draw({ codec, width, height, payload }) {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width
    canvas.height = height
    $("stage").style.aspectRatio = `${width} / ${height}`
    hook.frameSize = { width, height }
    $("stat-size").textContent = `${width}×${height}`
  }
  if (codec === 1) {
    const bitmap = await createImageBitmap(new Blob([payload], { type: "image/jpeg" }))
    ctx2d.drawImage(bitmap, 0, 0, width, height)
    bitmap.close()
  } else if (codec === 0) {
    if (payload.length < width * height * 3) throw new Error("short RGB payload")
    if (!imageData || imageData.width !== width || imageData.height !== height) {
      imageData = new ImageData(width, height)
    }
    const out = imageData.data
    for (let i = 0, j = 0; j < out.length; i += 3, j += 4) {
      out[j] = payload[i]
      out[j + 1] = payload[i + 1]
      out[j + 2] = payload[i + 2]
      out[j + 3] = 255
    }
    ctx2d.putImageData(imageData, 0, 0)
  } else {
    throw new Error(`unknown codec ${codec}`)
  }
}

setInterval(() => {
  const now = performance.now()
  while (state.frameTimes.length > 0 && now - state.frameTimes[0] > 1000) state.frameTimes.shift()
  $("stat-page-fps").textContent = state.ws ? String(state.frameTimes.length) : "–"
  $("stat-frames").textContent = String(hook.framesReceived)
  $("stat-page-latency").textContent = hook.latencyMs == null ? "–" : `${Math.round(hook.latencyMs)} ms`
}, 250)

// ---------------------------------------------------------------------------------------------------------------
// Sending commands

function sendRuntime(type) {
  const ws = state.ws
  if (ws?.readyState !== WebSocket.OPEN) return false
  ws.send(JSON.stringify({ scope: "runtime", data: { type, data: {} } }))
  return true
}

/** Sends a command with a fresh id; `param` names the control that caused it (where its error will show). */
function sendCommand(command, payload, param = null) {
  const ws = state.ws
  if (ws?.readyState !== WebSocket.OPEN || !hook.status.startsWith("live")) {
    state.offline.set(command, { payload, param })
    const panel = panels.get(command)
    if (panel) badge(panel, "", "queued")
    return
  }
  const id = String(++state.seq)
  state.pending.set(id, { command, param, sentAt: performance.now() })
  if (state.pending.size > 500) state.pending.delete(state.pending.keys().next().value)
  ws.send(JSON.stringify({ scope: "application", data: { type: command, data: payload, id } }))
  hook.sent.push({ id, command, payload })
  if (hook.sent.length > 200) hook.sent.shift()
}

function flushOffline() {
  const queued = [...state.offline]
  state.offline.clear()
  for (const [command, { payload, param }] of queued) sendCommand(command, payload, param)
}

/** The command's payload, read from its controls; a parameter whose control is empty is left out. */
function payloadOf(command) {
  const out = {}
  for (const [param, field] of panels.get(command)?.fields ?? []) {
    const value = field.read()
    if (value !== undefined) out[param] = value
  }
  return out
}

function setValue(command, param, value) {
  const values = (state.values[command] ??= {})
  if (value === undefined) delete values[param]
  else values[param] = value
  if (state.sessionId) sessionStorage.setItem(valuesKey(state.sessionId), JSON.stringify(state.values))
}

/** Sliders send at most once per animation frame. */
const throttled = new Map()
function sendThrottled(command, param) {
  if (throttled.has(command)) {
    throttled.set(command, param)
    return
  }
  throttled.set(command, param)
  requestAnimationFrame(() => {
    const last = throttled.get(command)
    throttled.delete(command)
    sendCommand(command, payloadOf(command), last)
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Controls

/** command name -> {el, fields: Map(param -> {wrap, input, error, set}), error, badge} */
const panels = new Map()
let renderedSignature = ""

function renderCommands(commands) {
  for (const command of commands) if (command.keys) state.keysByCommand.set(command.name, command.keys)
  const merged = commands.map((command) => ({ ...command, keys: command.keys ?? state.keysByCommand.get(command.name) }))
  const signature = JSON.stringify(merged.map(({ name, description, schema, keys }) => [name, description, schema, keys]))
  if (signature === renderedSignature) return
  renderedSignature = signature
  hook.commands = merged.map((command) => command.name)
  const open = new Map([...panels].map(([name, panel]) => [name, panel.el.open]))
  panels.clear()
  const root = $("commands")
  root.replaceChildren()
  if (merged.length === 0) {
    root.append(el("p", { class: "muted" }, "This model takes no commands."))
  }
  for (const command of merged) {
    const panel = renderCommand(command)
    panel.el.open = open.get(command.name) ?? true
    panels.set(command.name, panel)
    root.append(panel.el)
  }
  indexKeys(merged)
}

function renderCommand(command) {
  const schema = command.schema ?? {}
  const params = Object.entries(schema)
  const badgeEl = el("span", { class: "badge" })
  const error = el("div", { class: "error", role: "alert" })
  const body = el("div", { class: "body" })
  const details = el("details", { class: "command", "data-command": command.name },
    el("summary", {}, el("span", { class: "title" }, command.name), badgeEl),
    body)
  const panel = { el: details, fields: new Map(), error, badge: badgeEl }
  if (command.description && command.description !== command.name) {
    body.append(el("p", { class: "description" }, command.description))
  }
  if (params.length === 0) {
    const button = el("button", { type: "button", class: "primary", "data-param": "" }, `Send ${command.name}`)
    button.addEventListener("click", () => sendCommand(command.name, {}, null))
    body.append(button)
  }
  for (const [param, spec] of params) {
    const field = renderField(command.name, param, spec ?? {})
    panel.fields.set(param, field)
    body.append(field.wrap)
  }
  if (command.keys?.press && Object.keys(command.keys.press).length > 0) body.append(renderKeys(command))
  body.append(error)
  return panel
}

const isNumeric = (spec) => spec.type === "number" || spec.type === "integer"

/** Builds the control a parameter's schema calls for (Reactor's rules). */
function renderField(command, param, spec) {
  const id = `c-${command}-${param}`.replace(/[^\w-]/g, "_")
  const saved = state.values[command]?.[param]
  const error = el("div", { class: "error", role: "alert" })
  const label = el("label", { for: id },
    el("span", { class: "param" }, param + (spec.required ? " *" : "")))
  const hint = spec.description ? el("div", { class: "hint" }, spec.description) : null
  const attrs = { id, "data-command": command, "data-param": param }
  let wrap
  let input
  let set
  let read

  if (isNumeric(spec) && typeof spec.minimum === "number" && typeof spec.maximum === "number") {
    const step = spec.type === "integer" ? 1 : niceStep(spec.maximum - spec.minimum)
    const initial = saved ?? spec.default ?? (spec.type === "integer"
      ? Math.round((spec.minimum + spec.maximum) / 2)
      : (spec.minimum + spec.maximum) / 2)
    input = el("input", { ...attrs, type: "range", min: spec.minimum, max: spec.maximum, step, value: initial })
    const shown = el("span", { class: "value" }, formatNumber(initial, step))
    label.append(shown)
    input.addEventListener("input", () => {
      const value = Number(input.value)
      shown.textContent = formatNumber(value, step)
      setValue(command, param, value)
      sendThrottled(command, param)
    })
    set = (value) => {
      input.value = value
      shown.textContent = formatNumber(Number(value), step)
    }
    read = () => Number(input.value)
    wrap = el("div", { class: "field" }, label, input, hint, error)
  } else if (isNumeric(spec)) {
    const initial = saved ?? spec.default
    input = el("input", {
      ...attrs,
      type: "number",
      step: spec.type === "integer" ? 1 : "any",
      ...(typeof spec.minimum === "number" ? { min: spec.minimum } : {}),
      ...(typeof spec.maximum === "number" ? { max: spec.maximum } : {}),
      ...(initial !== undefined ? { value: initial } : {}),
      placeholder: bounds(spec)
    })
    // Out-of-range values are sent as typed: the runtime is the validator, and its error shows here.
    let committed = input.value
    const commit = () => {
      if (input.value === committed) return
      committed = input.value
      setValue(command, param, input.value === "" ? undefined : Number(input.value))
      sendCommand(command, payloadOf(command), param)
    }
    input.addEventListener("change", commit)
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") commit()
    })
    set = (value) => (input.value = value ?? "")
    read = () => (input.value === "" ? undefined : Number(input.value))
    wrap = el("div", { class: "field" }, label, input, hint, error)
  } else if (spec.type === "string" && Array.isArray(spec.enum)) {
    const initial = saved ?? spec.default ?? spec.enum[0]
    input = el("select", attrs, ...spec.enum.map((option) => el("option", { value: option }, String(option))))
    input.value = initial
    input.addEventListener("change", () => {
      setValue(command, param, input.value)
      sendCommand(command, payloadOf(command), param)
    })
    set = (value) => (input.value = value)
    read = () => input.value
    wrap = el("div", { class: "field" }, label, input, hint, error)
  } else if (spec.type === "boolean") {
    const initial = saved ?? spec.default ?? false
    input = el("input", { ...attrs, type: "checkbox" })
    input.checked = Boolean(initial)
    input.addEventListener("change", () => {
      setValue(command, param, input.checked)
      sendCommand(command, payloadOf(command), param)
    })
    set = (value) => (input.checked = Boolean(value))
    read = () => input.checked
    wrap = el("div", { class: "field" },
      el("div", { class: "field check" }, input, label),
      hint, error)
  } else {
    const initial = saved ?? spec.default ?? ""
    input = el("input", { ...attrs, type: "text", value: initial, placeholder: spec.description ?? param, autocomplete: "off" })
    const button = el("button", { type: "button", "data-send": param }, "Send")
    const commit = () => {
      setValue(command, param, input.value)
      sendCommand(command, payloadOf(command), param)
    }
    input.addEventListener("input", () => setValue(command, param, input.value))
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault()
        commit()
      }
    })
    button.addEventListener("click", commit)
    set = (value) => (input.value = value ?? "")
    // An optional text left empty is not sent; a required one is (and the runtime says what it expects).
    read = () => (input.value === "" && !spec.required ? undefined : input.value)
    wrap = el("div", { class: "field" }, label, el("div", { class: "row" }, input, button), hint, error)
  }
  return { wrap, input, error, set, read }
}

function renderKeys(command) {
  const row = el("div", { class: "keys" }, "Keys:")
  for (const [key, payload] of Object.entries(command.keys.press)) {
    row.append(el("span", { class: "binding", title: JSON.stringify(payload) },
      el("kbd", { "data-key": key, "data-command": command.name }, keyLabel(key)),
      el("span", {}, summarize(payload))))
  }
  if (command.keys.release) {
    row.append(el("span", { class: "binding", title: JSON.stringify(command.keys.release) },
      el("span", {}, "release →"), el("span", {}, summarize(command.keys.release))))
  }
  return row
}

/** Shows the values the page keeps for this session in the controls (after a resume). */
function applyValuesToControls() {
  for (const [command, panel] of panels) {
    for (const [param, field] of panel.fields) {
      const value = state.values[command]?.[param]
      if (value !== undefined) field.set(value)
    }
  }
}

function clearErrors(command) {
  const panel = panels.get(command)
  if (!panel) return
  panel.error.textContent = ""
  panel.el.classList.remove("has-error")
  for (const field of panel.fields.values()) {
    field.error.textContent = ""
    field.wrap.classList.remove("invalid")
  }
}

function badge(panel, kind, text) {
  panel.badge.className = `badge ${kind}`
  panel.badge.textContent = text
}

// ---------------------------------------------------------------------------------------------------------------
// Key bindings

/** key -> [{command, payload}] */
const keyIndex = new Map()
/** command -> keys held, oldest first */
const held = new Map()

const normalizeKey = (key) => (key.length === 1 ? key.toLowerCase() : key)

function indexKeys(commands) {
  keyIndex.clear()
  for (const command of commands) {
    for (const [key, payload] of Object.entries(command.keys?.press ?? {})) {
      const list = keyIndex.get(normalizeKey(key)) ?? []
      list.push({ command: command.name, payload })
      keyIndex.set(normalizeKey(key), list)
    }
  }
}

const editKeys = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", " ", "Enter"])

/** True when the key belongs to the focused control: any key while typing, arrows on a slider, space on a checkbox. */
function keyBelongsToFocus(event) {
  const target = event.target
  if (!(target instanceof Element)) return false
  if (target.isContentEditable || target.closest("textarea, select")) return true
  if (target instanceof HTMLInputElement) {
    const typing = !["range", "checkbox", "radio", "button", "submit", "color"].includes(target.type)
    return typing || editKeys.has(event.key)
  }
  if (target.closest("button, summary")) return event.key === " " || event.key === "Enter"
  return false
}

function highlight(command, key, down) {
  for (const kbd of document.querySelectorAll(`kbd[data-command="${CSS.escape(command)}"][data-key="${CSS.escape(key)}"]`)) {
    kbd.classList.toggle("down", down)
  }
}

function pressPayload(command, key) {
  return keyIndex.get(key)?.find((binding) => binding.command === command)?.payload
}

function sendKeyPayload(command, payload) {
  const panel = panels.get(command)
  for (const [param, value] of Object.entries(payload ?? {})) {
    if (panel?.fields.has(param)) {
      setValue(command, param, value)
      panel.fields.get(param).set(value)
    }
  }
  sendCommand(command, payload ?? {}, null)
}

window.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || keyBelongsToFocus(event)) return
  const key = normalizeKey(event.key)
  const bindings = keyIndex.get(key)
  if (!bindings) return
  event.preventDefault()
  if (event.repeat) return
  for (const { command, payload } of bindings) {
    const keys = held.get(command) ?? []
    if (keys.includes(key)) continue
    keys.push(key)
    held.set(command, keys)
    highlight(command, key, true)
    sendKeyPayload(command, payload)
  }
})

window.addEventListener("keyup", (event) => {
  const key = normalizeKey(event.key)
  if (!keyIndex.has(key)) return
  for (const [command, keys] of held) {
    const at = keys.indexOf(key)
    if (at < 0) continue
    keys.splice(at, 1)
    highlight(command, key, false)
    releaseOrFallBack(command, keys)
  }
})

/** When a bound key is released: another held key's payload applies again, or the release payload when none is. */
function releaseOrFallBack(command, keys) {
  if (keys.length > 0) return sendKeyPayload(command, pressPayload(command, keys[keys.length - 1]))
  held.delete(command)
  const release = state.keysByCommand.get(command)?.release
  if (release) sendKeyPayload(command, release)
}

window.addEventListener("blur", () => {
  for (const [command, keys] of [...held]) {
    for (const key of keys) highlight(command, key, false)
    keys.length = 0
    releaseOrFallBack(command, keys)
  }
})

// ---------------------------------------------------------------------------------------------------------------
// Page chrome

function setStatus(kind, text) {
  hook.status = kind
  const status = $("status")
  status.dataset.state = kind
  status.textContent = text ?? kind
}

function setModel(model) {
  if (!model?.name) return
  hook.model = model
  $("model-name").textContent = model.version ? `${model.name} v${model.version}` : model.name
  document.title = `${model.name} · effect-reactor`
}

function overlay(text) {
  const node = $("overlay")
  node.hidden = !text
  if (text) node.textContent = text
}

function notice(text, action, onAction, isError = false) {
  const node = $("notice")
  node.className = isError ? "notice error" : "notice"
  node.replaceChildren(el("span", {}, text))
  if (action) {
    const button = el("button", { type: "button" }, action)
    button.addEventListener("click", onAction)
    node.append(button)
  }
  node.hidden = false
}

function hideNotice() {
  $("notice").hidden = true
}

let logCount = 0
function log(text, isError = false) {
  const list = $("log")
  const time = new Date().toLocaleTimeString([], { hour12: false })
  list.prepend(el("li", isError ? { class: "error" } : {}, el("time", {}, time), text))
  while (list.children.length > 100) list.lastChild.remove()
  $("log-count").textContent = String(++logCount)
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value))
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

function niceStep(range) {
  const raw = range / 100
  const pow = 10 ** Math.floor(Math.log10(raw))
  const m = raw / pow
  return pow * (m >= 5 ? 5 : m >= 2 ? 2 : 1)
}

function formatNumber(value, step) {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))))
  return Number(value).toFixed(decimals)
}

const fixed = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : "–")
const short = (id) => (id && id.length > 10 ? `${id.slice(0, 8)}…` : id)
const bounds = (spec) =>
  typeof spec.minimum === "number" ? `≥ ${spec.minimum}` : typeof spec.maximum === "number" ? `≤ ${spec.maximum}` : ""
const keyLabel = (key) =>
  ({ " ": "Space", ArrowUp: "↑", ArrowDown: "↓", ArrowLeft: "←", ArrowRight: "→" })[key] ?? (key.length === 1 ? key.toUpperCase() : key)
const summarize = (payload) =>
  Object.entries(payload ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ") || "(no parameters)"

$("stop").addEventListener("click", stop)
$("restart").addEventListener("click", () => {
  state.attempt = 0
  startSession()
})

boot()
