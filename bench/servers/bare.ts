/**
 * The bare baseline: a `ws` server doing each benchmark's job with no runtime around it, speaking the same wire
 * format (24-byte header + RGB payload, JSON envelopes). Run as a subprocess by the benchmarks:
 * `node --import tsx bench/servers/bare.ts '<job json>'`; prints `{port, pid, format}` once listening.
 */
import { type WebSocket, WebSocketServer } from "ws"
import * as Wire from "../lib/Wire.js"
import * as Control from "./Control.js"
import { bufferLimitBytes, type Job, randomRgb } from "./Job.js"

const job = JSON.parse(process.argv[2] ?? "{}") as Job

/**
 * Sends one frame as the runtime does: one binary message in two fragments, the 24-byte header and then the payload
 * buffer itself, so no copy of the frame is made.
 */
const sendFrame = (
  ws: WebSocket,
  payload: Uint8Array,
  index: number,
  width: number,
  height: number,
  captureMs: number,
  onSent?: () => void
) => {
  const header = Buffer.allocUnsafe(Wire.headerBytes)
  Wire.writeHeader(header, { codec: Wire.Codec.rgb, track: 0, index, width, height, captureMs })
  ws.send(header, { binary: true, fin: false })
  ws.send(payload, { binary: true, fin: true }, onSent)
}

const ready = (ws: WebSocket) =>
  ws.send(Wire.runtime("sessionReady", { session_id: "bare", resumed: false, format: "rgb", model: { name: "bare" } }))

/** Frames as fast as the socket drains: send while under the buffer limit, resume when a send completes. */
const stream = (ws: WebSocket, spec: Extract<Job, { job: "stream" }>) => {
  const payload = randomRgb(spec.width, spec.height)
  let index = 0
  let waiting = false
  const pump = () => {
    while (ws.readyState === ws.OPEN && ws.bufferedAmount < bufferLimitBytes) {
      // A fresh frame per send, as the runtime's stream model emits (a model's `emit` hands its buffer over, so a
      // model cannot re-send one buffer): both sides pay the same allocation and GC for the frames themselves.
      sendFrame(ws, payload.slice(), index++, spec.width, spec.height, Wire.nowMs(), onSent)
    }
    waiting = ws.readyState === ws.OPEN
  }
  const onSent = () => {
    if (waiting && ws.bufferedAmount < bufferLimitBytes) {
      waiting = false
      setImmediate(pump)
    }
  }
  pump()
}

/**
 * Blocks generated on an absolute schedule, their frames released evenly spaced: the same release rule as the
 * runtime's pacer (frame i of a block is due at the block's time + i periods, catching up no faster than 0.75 of a
 * period), written by hand with the period known instead of measured.
 */
const generate = (ws: WebSocket, spec: Extract<Job, { job: "generate" }>) => {
  const period = 1000 / spec.fps
  const shared = randomRgb(spec.width, spec.height)
  const queue: Array<{ readonly payload: Uint8Array; readonly captureMs: number; readonly due: number }> = []
  let state = 0
  let index = 0
  let lastAt = Number.NEGATIVE_INFINITY
  let releaseTimer: NodeJS.Timeout | undefined
  let generateAt = performance.now()
  let generateTimer: NodeJS.Timeout | undefined

  const release = () => {
    releaseTimer = undefined
    while (queue.length > 0 && ws.readyState === ws.OPEN) {
      const item = queue[0]!
      const due = Math.max(item.due, lastAt + period * 0.75)
      const now = performance.now()
      if (due - now >= 1) {
        releaseTimer = setTimeout(release, due - now)
        return
      }
      queue.shift()
      const i = index++
      if (ws.bufferedAmount <= bufferLimitBytes) {
        sendFrame(ws, item.payload, i, spec.width, spec.height, item.captureMs)
      }
      lastAt = now
    }
  }
  const produce = () => {
    if (ws.readyState !== ws.OPEN) return
    const captureMs = Wire.nowMs()
    const at = performance.now()
    for (let i = 0; i < spec.block; i++) {
      let payload = shared
      if (spec.stateful) {
        payload = new Uint8Array(spec.width * spec.height * 3)
        Wire.setFirstPixel(payload, state)
      }
      queue.push({ payload, captureMs, due: at + i * period })
    }
    if (releaseTimer === undefined) release()
    generateAt += period * spec.block
    const now = performance.now()
    if (generateAt < now - period * spec.block) generateAt = now
    generateTimer = setTimeout(produce, Math.max(0, generateAt - now))
  }
  ws.on("message", (data, isBinary) => {
    if (isBinary) return
    const envelope = JSON.parse(data.toString()) as Wire.Envelope
    if (envelope.data.type === "set") {
      state = (envelope.data.data as { value: number }).value
      if (envelope.data.id !== undefined) {
        ws.send(Wire.runtime("commandAck", { id: envelope.data.id, command: "set", frame: index + queue.length }))
      }
    }
  })
  ws.on("close", () => {
    clearTimeout(generateTimer)
    clearTimeout(releaseTimer)
  })
  produce()
}

/** Acks every command with an id. */
const echo = (ws: WebSocket) => {
  let state = 0
  ws.on("message", (data, isBinary) => {
    if (isBinary) return
    const envelope = JSON.parse(data.toString()) as Wire.Envelope
    if (envelope.data.type === "set") state = (envelope.data.data as { value: number }).value
    if (envelope.data.id !== undefined) {
      ws.send(Wire.runtime("commandAck", { id: envelope.data.id, command: envelope.data.type, frame: state & 0 }))
    }
  })
}

/** Answers each binary input frame with `seen` and its capture time (header bytes 16-23), as the mirror model does. */
const mirror = (ws: WebSocket) =>
  ws.on("message", (data: Buffer, isBinary) => {
    if (!isBinary || data.length < Wire.headerBytes) return
    const capturedAt = data.readDoubleLE(16)
    ws.send(JSON.stringify({ scope: "application", data: { type: "seen", capturedAt } }))
  })

// Large enough for a 1280x720 input frame (the mirror job); the other jobs' clients send small text only.
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 })
wss.on("connection", (ws) => {
  ready(ws)
  switch (job.job) {
    case "stream":
      return stream(ws, job)
    case "generate":
      return generate(ws, job)
    case "echo":
      return echo(ws)
    case "mirror":
      return mirror(ws)
    case "idle":
      return
  }
})
wss.on("listening", () => {
  const address = wss.address()
  Control.ready({
    port: typeof address === "object" && address !== null ? address.port : 0,
    pid: process.pid,
    format: "rgb"
  })
})
