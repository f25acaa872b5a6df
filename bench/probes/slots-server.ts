/**
 * The server subprocess of the shared-slots probe (`shared-slots.ts`): a `ws` server on its main thread and a
 * producer of frames in a worker thread (the "model host"), in one of three ways across the thread boundary:
 *
 * - `clone`: the host posts every frame to the server thread (`postMessage`, a structured clone of the 16 KiB
 *   payload); the server writes it to the socket on arrival. The boundary of today's worker mode, without Effect.
 * - `slots`: the design proposed in BENCHMARKS.md (issue 19). The host copies each frame into a slot of a pool of
 *   `SharedArrayBuffer` slots and pushes the slot's number on a ready ring (`Atomics`); the server thread drains the
 *   ring once per turn, queues each frame on its session, and one timer for all sessions releases them by the pacer's
 *   rule (due at the block's time + its place in the block, never closer than `catchUp` of an interval after the
 *   previous frame), writing the slot's bytes to the socket with no copy; the slot goes back to the pool (a free
 *   ring) when its write completes. The host is woken by nothing: it produces on its own timers. The server is woken
 *   by a doorbell, a one-number message posted only when the server said it was idle (`armed`), at most once per
 *   turn of the host, so there is no message per frame. Back-pressure: a session has at most `queueFrames` frames
 *   waiting for release (the pacer's bounded queue); a producer over it waits (`Atomics.waitAsync`), as the pacer's
 *   `push` suspends the model.
 * - `slots-poll`: `slots` with no doorbell: the server thread drains the ring on a 2 ms interval (up to 2 ms later).
 * - `slots-effect`: the same as `slots`, with each session's producer written as the bench model is (an Effect fiber looping on
 *   `Effect.sleep` to an absolute schedule, `emit` an Effect): the model's own hop per frame stays, the pacer's
 *   release fiber and the link's credit wait are gone.
 *
 * The frames are bench 5's (74x74 RGB, one block of one frame per period), sent as the runtime and the bare server
 * send them: one binary message in two fragments, the 24-byte header and the payload.
 * `node --import tsx bench/probes/slots-server.ts '<job json>'` (started by the probe through `bench/lib/Child.ts`).
 */
import { Effect, Fiber } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { getPriority, setPriority } from "node:os"
import { pathToFileURL } from "node:url"
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"
import { type WebSocket, WebSocketServer } from "ws"
import * as Wire from "../lib/Wire.js"
import * as Control from "../servers/Control.js"
import { bufferLimitBytes, randomRgb } from "../servers/Job.js"

/** What the probe asks of one server. */
export interface SlotsJob {
  readonly variant: "clone" | "slots" | "slots-effect" | "slots-poll"
  readonly fps: number
  readonly width: number
  readonly height: number
  /** Sessions this server may see (sizes the pool: `slotsPerSession` each). */
  readonly maxSessions: number
}

/**
 * Frames a session may have published and not yet released: the pacer's `queueBlocks` (2) blocks of one frame
 * waiting, plus the one its release fiber holds until it is due.
 */
const queueFrames = 3
/** Slots per session in the pool: the frames waiting, one being written, one spare. */
const slotsPerSession = 4
/** The pacer's catch-up rule (`Pacer.catchUp`). */
const catchUp = 0.75
/** Doubles of metadata per slot. */
const metaFields = 8
const M_SESSION = 0
const M_INDEX_IN_BLOCK = 1
const M_WIDTH = 2
const M_HEIGHT = 3
const M_LENGTH = 4
const M_CAPTURE = 5
/** When the host emitted the block, on the shared clock (`performance.timeOrigin + performance.now()`). */
const M_GENERATED = 6
const M_INTERVAL = 7
/** Int32 control words: ring heads and tails, the doorbell, counters. */
const C_READY_HEAD = 0
const C_READY_TAIL = 1
const C_FREE_HEAD = 2
const C_FREE_TAIL = 3
const C_ARMED = 4
const C_BELLS = 5
const C_POOL_EMPTY = 6
const C_CREDIT_WAITS = 7
const controlWords = 16
/** `slots-poll`: how often the server thread drains the ready ring (no doorbell). */
const pollMs = 2

interface Shared {
  readonly control: SharedArrayBuffer
  readonly ready: SharedArrayBuffer
  readonly free: SharedArrayBuffer
  readonly meta: SharedArrayBuffer
  readonly slots: SharedArrayBuffer
  /** Per session: frames published and not yet released (Int32), and whether its producer waits (Int32). */
  readonly pending: SharedArrayBuffer
  readonly waiting: SharedArrayBuffer
  readonly slotBytes: number
  readonly slotCount: number
  readonly ringMask: number
}

const pow2 = (n: number) => 1 << Math.ceil(Math.log2(Math.max(2, n)))

/** The shared memory of one pool (made by the server thread, handed to the host in `workerData`). */
const makeShared = (job: SlotsJob): Shared => {
  const slotCount = job.maxSessions * slotsPerSession
  const ringSize = pow2(slotCount)
  const slotBytes = Math.ceil((job.width * job.height * 3) / 64) * 64
  return {
    control: new SharedArrayBuffer(controlWords * 4),
    ready: new SharedArrayBuffer(ringSize * 4),
    free: new SharedArrayBuffer(ringSize * 4),
    meta: new SharedArrayBuffer(slotCount * metaFields * 8),
    slots: new SharedArrayBuffer(slotCount * slotBytes),
    pending: new SharedArrayBuffer(job.maxSessions * 4),
    waiting: new SharedArrayBuffer(job.maxSessions * 4),
    slotBytes,
    slotCount,
    ringMask: ringSize - 1
  }
}

/** A single-producer single-consumer ring of slot numbers (head and tail are control words). */
const ring = (control: Int32Array, words: Int32Array, mask: number, headAt: number, tailAt: number) => ({
  push: (value: number) => {
    const tail = Atomics.load(control, tailAt)
    words[tail & mask] = value
    Atomics.store(control, tailAt, (tail + 1) | 0)
  },
  pop: (): number => {
    const head = Atomics.load(control, headAt)
    if (head === Atomics.load(control, tailAt)) return -1
    const value = words[head & mask]!
    Atomics.store(control, headAt, (head + 1) | 0)
    return value
  },
  empty: () => Atomics.load(control, headAt) === Atomics.load(control, tailAt)
})

// ---------------------------------------------------------------------------------------------------------------
// The model host (worker thread)

type HostMessage = { readonly open: number } | { readonly close: number }

const host = () => {
  const { job, shared } = workerData as { job: SlotsJob; shared: Shared }
  // Named so the probe can tell this thread apart in /proc, and at nice +5 as the runtime's host (HostWorker.ts).
  try {
    fs.writeFileSync("/proc/thread-self/comm", "model-host")
    const tid = Number(fs.readlinkSync("/proc/thread-self").split("/").pop())
    setPriority(tid, Math.min(19, getPriority(tid) + 5))
  } catch {
    // not Linux
  }
  const port = parentPort!
  const period = 1000 / job.fps
  const frame = randomRgb(job.width, job.height)
  const control = new Int32Array(shared.control)
  const ready = ring(control, new Int32Array(shared.ready), shared.ringMask, C_READY_HEAD, C_READY_TAIL)
  const free = ring(control, new Int32Array(shared.free), shared.ringMask, C_FREE_HEAD, C_FREE_TAIL)
  const meta = new Float64Array(shared.meta)
  const slots = new Uint8Array(shared.slots)
  const pending = new Int32Array(shared.pending)
  const waiting = new Int32Array(shared.waiting)
  const stops = new Map<number, () => void>()

  // `slots-poll`: no doorbell, the server polls the ring every `pollMs`.
  const polled = job.variant === "slots-poll"
  // The doorbell: at most once per turn of this thread, and only when the server said it is idle.
  let bellQueued = false
  const bell = () => {
    bellQueued = false
    if (Atomics.compareExchange(control, C_ARMED, 1, 0) === 1) {
      Atomics.add(control, C_BELLS, 1)
      port.postMessage(0)
    }
  }

  // The pacer's measured interval (Pacer.measure: time since the previous push, smoothed), per session.
  const lastPush = new Float64Array(job.maxSessions)
  const estimate = new Float64Array(job.maxSessions)
  const measured = new Int32Array(job.maxSessions)

  /** Publishes one frame of `s` (a block of one): copy into a free slot, metadata, ready ring, doorbell. */
  const publish = (s: number, data: Uint8Array) => {
    const slot = free.pop()
    if (slot < 0) {
      Atomics.add(control, C_POOL_EMPTY, 1)
      return
    }
    const now = performance.now()
    const perFrame = now - lastPush[s]!
    lastPush[s] = now
    estimate[s] = measured[s]! < 2 ? perFrame : estimate[s]! + 0.3 * (perFrame - estimate[s]!)
    measured[s]!++
    slots.set(data, slot * shared.slotBytes)
    const m = slot * metaFields
    meta[m + M_SESSION] = s
    meta[m + M_INDEX_IN_BLOCK] = 0
    meta[m + M_WIDTH] = job.width
    meta[m + M_HEIGHT] = job.height
    meta[m + M_LENGTH] = data.length
    meta[m + M_CAPTURE] = Date.now()
    meta[m + M_GENERATED] = performance.timeOrigin + now
    meta[m + M_INTERVAL] = Math.min(1000, Math.max(0, estimate[s]!))
    Atomics.add(pending, s, 1)
    ready.push(slot)
    if (!bellQueued && !polled) {
      bellQueued = true
      setImmediate(bell)
    }
  }

  /** Calls `f` once `s` may publish (fewer than `queueFrames` waiting); `Atomics.waitAsync` when it may not. */
  const whenCredit = (s: number, f: () => void) => {
    const current = Atomics.load(pending, s)
    if (current < queueFrames) return f()
    Atomics.add(control, C_CREDIT_WAITS, 1)
    Atomics.store(waiting, s, 1)
    const wait = (Atomics as unknown as {
      waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<unknown> | string }
    }).waitAsync(pending, s, current)
    const again = () => {
      Atomics.store(waiting, s, 0)
      whenCredit(s, f)
    }
    if (wait.async) (wait.value as Promise<unknown>).then(again)
    else again()
  }

  const openPlain = (s: number) => {
    let next = performance.now()
    let timer: NodeJS.Timeout | undefined
    let open = true
    const tick = () => {
      if (!open) return
      publish(s, frame)
      next += period
      const now = performance.now()
      if (next < now - period) next = now
      timer = setTimeout(() => whenCredit(s, tick), Math.max(0, next - now))
    }
    lastPush[s] = performance.now()
    tick()
    stops.set(s, () => {
      open = false
      clearTimeout(timer)
    })
  }

  const openEffect = (s: number) => {
    // With credit, `emit` publishes synchronously (no hop); without, it suspends until the server frees some.
    const emit = Effect.suspend(() => {
      if (Atomics.load(pending, s) < queueFrames) {
        publish(s, frame)
        return Effect.void
      }
      return Effect.async<void>((resume) => {
        whenCredit(s, () => {
          publish(s, frame)
          resume(Effect.void)
        })
      })
    })
    // The bench model's loop (bench/servers/Models.ts, `generate`): emit, then sleep to an absolute schedule.
    const run = Effect.gen(function*() {
      let next = performance.now()
      while (true) {
        yield* emit
        next += period
        const now = performance.now()
        if (next < now - period) next = now
        if (next > now) yield* Effect.sleep(next - now)
      }
    })
    lastPush[s] = performance.now()
    const fiber = Effect.runFork(run)
    stops.set(s, () => Effect.runFork(Fiber.interrupt(fiber)))
  }

  const openClone = (s: number) => {
    let next = performance.now()
    let timer: NodeJS.Timeout | undefined
    let open = true
    let index = 0
    const tick = () => {
      if (!open) return
      // One message per frame, the payload cloned (the frame is the model's, reused: it cannot be transferred).
      port.postMessage({ s, index: index++, captureMs: Date.now(), data: frame })
      next += period
      const now = performance.now()
      if (next < now - period) next = now
      timer = setTimeout(tick, Math.max(0, next - now))
    }
    tick()
    stops.set(s, () => {
      open = false
      clearTimeout(timer)
    })
  }

  // Ready: the server listens only from now on (loading tsx and Effect in a worker takes seconds at load).
  port.postMessage("up")
  port.on("message", (message: HostMessage) => {
    if ("open" in message) {
      if (job.variant === "clone") openClone(message.open)
      else if (job.variant === "slots-effect") openEffect(message.open)
      else openPlain(message.open)
    } else {
      stops.get(message.close)?.()
      stops.delete(message.close)
    }
  })
}

// ---------------------------------------------------------------------------------------------------------------
// The server (main thread)

const FRAGMENT = { binary: true, fin: false } as const
const LAST = { binary: true, fin: true } as const

interface SessionState {
  readonly s: number
  readonly ws: WebSocket
  closed: boolean
  /** Queued slots (a ring of `queue.length`), their due times on this thread's clock. */
  readonly queue: Int32Array
  readonly due: Float64Array
  readonly gap: Float64Array
  head: number
  length: number
  active: boolean
  lastAt: number
  index: number
  dropped: number
}

const server = () => {
  const job = JSON.parse(process.argv[2] ?? "{}") as SlotsJob
  const shared = makeShared(job)
  // tsx's loader is registered in the worker first (as src/host/ModelHost.ts does), then this file runs there.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href
  const worker = new Worker(
    `const { workerData } = require("node:worker_threads")
import(workerData.tsx).then((tsx) => tsx.register()).then(() => import(workerData.self))
  .catch((error) => { setImmediate(() => { throw error }) })`,
    { eval: true, workerData: { job, shared, tsx, self: import.meta.url } }
  )
  worker.on("error", (error) => {
    process.stderr.write(`model host failed: ${error.stack ?? String(error)}\n`)
    process.exit(1)
  })
  const control = new Int32Array(shared.control)
  const ready = ring(control, new Int32Array(shared.ready), shared.ringMask, C_READY_HEAD, C_READY_TAIL)
  const free = ring(control, new Int32Array(shared.free), shared.ringMask, C_FREE_HEAD, C_FREE_TAIL)
  const meta = new Float64Array(shared.meta)
  const pending = new Int32Array(shared.pending)
  const waiting = new Int32Array(shared.waiting)
  for (let slot = 0; slot < shared.slotCount; slot++) free.push(slot)
  Atomics.store(control, C_ARMED, 1)
  const origin = performance.timeOrigin

  // Per slot, made once: its payload as a Buffer over the shared memory, its header, and its write callback.
  const frameBytes = job.width * job.height * 3
  const payloads = Array.from(
    { length: shared.slotCount },
    (_, slot) => Buffer.from(shared.slots, slot * shared.slotBytes, frameBytes)
  )
  const headers = Array.from({ length: shared.slotCount }, () => Buffer.alloc(Wire.headerBytes))
  const written = Array.from({ length: shared.slotCount }, (_, slot) => () => free.push(slot))

  const sessions: Array<SessionState | undefined> = []
  const active = new Int32Array(job.maxSessions)
  let activeCount = 0
  let nextSession = 0
  let timer: NodeJS.Timeout | undefined
  let timerAt = Number.POSITIVE_INFINITY
  let releasedTotal = 0
  let droppedTotal = 0

  const released = (s: number) => {
    Atomics.sub(pending, s, 1)
    if (Atomics.load(waiting, s) === 1) Atomics.notify(pending, s)
  }

  /** Writes one frame to its session's socket, or drops it (socket buffer over the limit, as the runtime does). */
  const send = (session: SessionState, slot: number) => {
    const index = session.index++
    releasedTotal++
    if (session.ws.bufferedAmount > bufferLimitBytes) {
      session.dropped++
      droppedTotal++
      free.push(slot)
      return
    }
    const m = slot * metaFields
    const header = headers[slot]!
    Wire.writeHeader(header, {
      codec: Wire.Codec.rgb,
      track: 0,
      index,
      width: meta[m + M_WIDTH]!,
      height: meta[m + M_HEIGHT]!,
      captureMs: meta[m + M_CAPTURE]!
    })
    const length = meta[m + M_LENGTH]!
    const payload = length === frameBytes ? payloads[slot]! : Buffer.from(shared.slots, slot * shared.slotBytes, length)
    session.ws.send(header, FRAGMENT)
    session.ws.send(payload, LAST, written[slot])
  }

  /** Takes every ready slot onto its session's queue. */
  const drain = () => {
    for (let slot = ready.pop(); slot >= 0; slot = ready.pop()) {
      const m = slot * metaFields
      const s = meta[m + M_SESSION]!
      const session = sessions[s]
      if (session === undefined || session.closed || session.length === session.queue.length) {
        released(s)
        free.push(slot)
        continue
      }
      const interval = meta[m + M_INTERVAL]!
      const at = (session.head + session.length) % session.queue.length
      session.queue[at] = slot
      session.due[at] = meta[m + M_GENERATED]! - origin + meta[m + M_INDEX_IN_BLOCK]! * interval
      session.gap[at] = interval * catchUp
      session.length++
      if (!session.active) {
        session.active = true
        active[activeCount++] = s
      }
    }
  }

  /** Releases every frame due now, for all sessions; one timer for the earliest frame not due yet. */
  const release = () => {
    const now = performance.now()
    let earliest = Number.POSITIVE_INFINITY
    let kept = 0
    for (let k = 0; k < activeCount; k++) {
      const s = active[k]!
      const session = sessions[s]!
      while (session.length > 0 && !session.closed) {
        const head = session.head
        const due = Math.max(session.due[head]!, session.lastAt + session.gap[head]!)
        if (due - now >= 1) {
          earliest = Math.min(earliest, due)
          break
        }
        const slot = session.queue[head]!
        session.head = (head + 1) % session.queue.length
        session.length--
        released(s)
        send(session, slot)
        session.lastAt = now
      }
      if (session.length > 0 && !session.closed) active[kept++] = s
      else session.active = false
    }
    activeCount = kept
    if (earliest < timerAt) {
      if (timer !== undefined) clearTimeout(timer)
      timerAt = earliest
      timer = setTimeout(onTimer, Math.max(0, earliest - now))
    }
  }

  const onTimer = () => {
    timer = undefined
    timerAt = Number.POSITIVE_INFINITY
    drain()
    release()
  }

  /** The doorbell: drain until the ring stays empty after re-arming, then release. */
  const onBell = () => {
    for (;;) {
      drain()
      Atomics.store(control, C_ARMED, 1)
      if (ready.empty()) break
      Atomics.store(control, C_ARMED, 0)
    }
    release()
  }

  const cloneIndex: Array<number> = []
  const onClone = (message: { s: number; index: number; captureMs: number; data: Uint8Array }) => {
    const session = sessions[message.s]
    if (session === undefined || session.closed) return
    releasedTotal++
    if (session.ws.bufferedAmount > bufferLimitBytes) {
      session.dropped++
      droppedTotal++
      return
    }
    const header = Buffer.allocUnsafe(Wire.headerBytes)
    Wire.writeHeader(header, {
      codec: Wire.Codec.rgb,
      track: 0,
      index: cloneIndex[message.s] = (cloneIndex[message.s] ?? -1) + 1,
      width: job.width,
      height: job.height,
      captureMs: message.captureMs
    })
    session.ws.send(header, FRAGMENT)
    session.ws.send(message.data, LAST)
  }
  worker.once("message", () => {
    worker.on("message", job.variant === "clone" ? onClone : onBell)
    if (job.variant === "slots-poll") setInterval(onBell, pollMs)
    listen()
  })

  const listen = () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
    wss.on("connection", (ws) => {
      ws.send(
        Wire.runtime("sessionReady", { session_id: "slots", resumed: false, format: "rgb", model: { name: "x" } })
      )
      const s = nextSession++
      if (s >= job.maxSessions) return ws.close(1013, "pool sized for fewer sessions")
      const session: SessionState = {
        s,
        ws,
        closed: false,
        queue: new Int32Array(queueFrames + 2),
        due: new Float64Array(queueFrames + 2),
        gap: new Float64Array(queueFrames + 2),
        head: 0,
        length: 0,
        active: false,
        lastAt: Number.NEGATIVE_INFINITY,
        index: 0,
        dropped: 0
      }
      sessions[s] = session
      worker.postMessage({ open: s } satisfies HostMessage)
      ws.on("close", () => {
        // The stop: the host stops producing; frames queued here go back to the pool (counted as released, so a
        // producer waiting for credit is woken and sees the session gone); frames still on the ready ring are
        // returned by `drain`.
        session.closed = true
        worker.postMessage({ close: s } satisfies HostMessage)
        while (session.length > 0) {
          free.push(session.queue[session.head]!)
          session.head = (session.head + 1) % session.queue.length
          session.length--
          released(s)
        }
      })
    })
    wss.on("listening", () => {
      const address = wss.address()
      Control.ready({
        port: typeof address === "object" && address !== null ? address.port : 0,
        pid: process.pid,
        format: "rgb"
      })
    })
  }
  // `stats` on stdin: counters so far, one JSON line on stderr (the probe reads it from the stderr tail).
  process.stdin.on("data", (chunk) => {
    if (!String(chunk).includes("stats")) return
    process.stderr.write(
      `slots-stats ${
        JSON.stringify({
          released: releasedTotal,
          dropped: droppedTotal,
          doorbells: Atomics.load(control, C_BELLS),
          poolEmpty: Atomics.load(control, C_POOL_EMPTY),
          creditWaits: Atomics.load(control, C_CREDIT_WAITS)
        })
      }\n`
    )
  })
}

if (isMainThread) server()
else host()
