/**
 * The page's shared state: what browser tests observe (`window.reactorPage`, plain data updated in place) and what
 * the page's modules share (the session, the socket, commands in flight). Every other module of the page reads and
 * writes these two objects; none keeps session state of its own.
 */
import * as view from "./view.js"

const KEEP = 200

/** What browser tests observe (`window.reactorPage`). */
export const hook = {
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

export const state = {
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
  /** The latest payload per command that could not be sent while disconnected; sent on reconnect. */
  offline: new Map(),
  /** {command: {param: value}}: what the controls hold, kept per session in sessionStorage. */
  values: {},
  /** Key bindings by command: the start_session answer omits them, GET /capabilities and the socket carry them. */
  keysByCommand: new Map()
}

/** Appends to one of the hook's lists, keeping the last 200. */
export const push = (list, item) => {
  list.push(item)
  if (list.length > KEEP) list.shift()
}

export function setStatus(kind, text) {
  hook.status = kind
  view.setStatus(kind, text)
}

export function setModel(model) {
  if (!model?.name) return
  hook.model = model
  view.setModel(model)
}
