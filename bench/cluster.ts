/**
 * 16. Past one machine: a session started through the coordinator (`POST /sessions` on `reactor coordinator`, polled
 * until `ACTIVE`, then the runner's WebSocket until `sessionReady`) against one started on a single server
 * (`POST /start_session` on a plain `reactor run`, then its WebSocket), one at a time, alternated. Each session then
 * streams: its first frame on the client (from the start), and each frame's latency from the model's emit (the frame
 * header's time) to the client. Then a burst of sessions over three runners: how placement spreads them, failures,
 * the coordinator's CPU per session.
 */
import WebSocket from "ws"
import * as FrameHeader from "../src/protocol/FrameHeader.js"
import * as Cluster from "../test/cluster/Cluster.js"
import * as Postgres from "../test/cluster/Postgres.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Proc from "./lib/Proc.js"
import * as Stats from "./lib/Stats.js"
import type * as Table from "./lib/Table.js"

const model = "test/fixtures/web-colors.ts"

/** What a client saw of a session, in ms from its start (`t0`). */
interface Watched {
  readonly ready: number
  readonly firstFrame: number
  /** Per frame after the first: its arrival minus the model's emit (the header's `capturedAt`). */
  readonly latencies: ReadonlyArray<number>
}

/**
 * Opens a WebSocket transport, waits for `sessionReady`, then its first frame and `frames` more (each frame's latency
 * from the model's emit to its arrival); then closes it.
 */
const watch = (url: string, t0: number, frames: number) =>
  new Promise<Watched>((resolve, reject) => {
    const ws = new WebSocket(url)
    const timer = setTimeout(
      () => (ws.terminate(), reject(new Error(`no sessionReady and frames from ${url}`))),
      60_000
    )
    let ready: number | undefined
    let firstFrame: number | undefined
    const latencies: Array<number> = []
    ws.on("message", (data: Buffer, binary) => {
      if (!binary) {
        const message = JSON.parse(data.toString()) as { data?: { type?: string } }
        if (message.data?.type === "sessionReady") ready = performance.now() - t0
        return
      }
      const header = FrameHeader.readHeader(data)
      if (header === undefined || ready === undefined) return
      if (firstFrame === undefined) firstFrame = performance.now() - t0
      // the arrival in fractional ms (the emit is whole ms: both sides carry the same half-ms bias)
      else latencies.push(performance.timeOrigin + performance.now() - header.capturedAt)
      if (latencies.length >= frames) {
        clearTimeout(timer)
        ws.close()
        resolve({ ready, firstFrame, latencies })
      }
    })
    ws.on("error", (error) => (clearTimeout(timer), reject(error)))
  })

interface Created {
  readonly session_id: string
  readonly state: string
  readonly code?: string
  readonly runner?: { readonly id: string }
  readonly selected_transport?: { readonly url: string }
}

const websocket = { supported_transports: [{ protocol: "websocket", version: "1" }] }

/** Through the coordinator: create, poll every 10 ms until ACTIVE (or CLOSED); the session's answer. */
const createActive = async (cluster: Cluster.Cluster): Promise<Created> => {
  const created = await (await cluster.api("/sessions", {
    method: "POST",
    body: JSON.stringify({ model: { name: "web-colors" }, ...websocket })
  })).json() as Created
  // PENDING, or already ACTIVE when the runner answered before the coordinator did
  if (created.state !== "PENDING" && created.state !== "ACTIVE") {
    throw new Error(`POST /sessions: ${JSON.stringify(created)}`)
  }
  const deadline = Date.now() + 60_000
  for (;;) {
    if (Date.now() > deadline) throw new Error(`session ${created.session_id} still PENDING after 60 s`)
    const session = await (await cluster.api(`/sessions/${created.session_id}`)).json() as Created
    if (session.state === "ACTIVE") return session
    if (session.state === "CLOSED") throw new Error(`session closed: ${JSON.stringify(session)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const measure = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  // 100 sessions at once over 3 runners of 34 places
  const burst = pick(config, 100, 6)
  const perRunner = Math.ceil(burst / 3)
  const framesEach = pick(config, 30, 5)
  const cluster = await Cluster.start([
    { model, maxSessions: perRunner },
    { model, maxSessions: perRunner },
    { model, maxSessions: perRunner }
  ])
  const port = await Postgres.freePort()
  const single = Cluster.startProc("single server", ["run", model, "--port", String(port), "--max-sessions", "2"])
  try {
    const singleUrl = `http://127.0.0.1:${port}`
    await Cluster.waitUp(single, `${singleUrl}/health`)
    const rounds = pick(config, 30, 3)
    const viaCoordinator: Array<Watched> = []
    const direct: Array<Watched> = []
    config.log(`cluster: ${rounds} starts each way, alternated`)
    for (let i = 0; i < rounds; i++) {
      await attempt("through the coordinator", notes, async () => {
        const t0 = performance.now()
        const session = await createActive(cluster)
        viaCoordinator.push(await watch(session.selected_transport!.url, t0, framesEach))
        await cluster.api(`/sessions/${session.session_id}`, { method: "DELETE" })
      })
      await attempt("single server", notes, async () => {
        const t0 = performance.now()
        const started = await (await fetch(`${singleUrl}/start_session`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(websocket)
        })).json() as Created
        direct.push(await watch(`ws://127.0.0.1:${port}${started.selected_transport!.url}`, t0, framesEach))
        await fetch(`${singleUrl}/stop_session`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ session_id: started.session_id })
        })
      })
    }
    // the ended sessions leave the coordinator's count at its next membership round
    await new Promise((resolve) => setTimeout(resolve, 3 * Cluster.heartbeatMs))

    config.log(`cluster: ${burst} sessions at once over 3 runners`)
    const before = Proc.sample(cluster.coordinator.child.pid!)
    const results = await Promise.allSettled(Array.from({ length: burst }, () => createActive(cluster)))
    const after = Proc.sample(cluster.coordinator.child.pid!)
    const placed = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []))
    const counts = cluster.runners.map((runner) => placed.filter((s) => s.runner?.id === runner.id).length)
    for (const r of results) if (r.status === "rejected") notes.push(`burst: ${String(r.reason).slice(0, 200)}`)
    const coordinatorCpuMs = before && after ? ((after.cpuSeconds - before.cpuSeconds) * 1000) / burst : undefined
    const via = Stats.summarize(viaCoordinator.map((w) => w.ready))
    const one = Stats.summarize(direct.map((w) => w.ready))
    const viaFirst = Stats.summarize(viaCoordinator.map((w) => w.firstFrame))
    const oneFirst = Stats.summarize(direct.map((w) => w.firstFrame))
    const viaFrame = Stats.summarize(viaCoordinator.flatMap((w) => w.latencies))
    const oneFrame = Stats.summarize(direct.flatMap((w) => w.latencies))
    const mediaTarget = (runtime: number, baseline: number) => ({
      text: "<= 1.1x one server (media path unchanged)",
      met: runtime <= 1.1 * baseline
    })
    notes.push(
      `start to ready: ${rounds} sessions each way, one at a time, alternated; the coordinator side polls GET every ` +
        "10 ms (the SDK polls at 200 ms, doubling: its own wait comes on top); model web-colors, WebSocket transport"
    )
    notes.push(
      `frames: after sessionReady, the first frame (ms from the start) and ${framesEach} more per session; a frame's ` +
        "latency is its arrival at the client minus the model's emit (the frame header's capturedAt, one clock: all on " +
        "loopback). The coordinator is off the media path: its session streams straight from its runner"
    )
    notes.push(
      `burst: ${burst} sessions at once over 3 runners of ${perRunner} places each; per runner: ${
        counts.join(" / ")
      }; ` +
        `coordinator CPU from /proc over the burst (membership rounds every ${Cluster.heartbeatMs} ms included)`
    )
    return {
      name: "cluster",
      title: "16. Past one machine: start through the coordinator against one server",
      labels: { runtime: "coordinator", baseline: "one server" },
      columns: {
        runtime:
          "POST /sessions on reactor coordinator, placed on one of 3 runners, polled until ACTIVE, then the runner's WebSocket",
        baseline: "POST /start_session on a plain reactor run, then its WebSocket"
      },
      rows: [
        { metric: "start to ready p50", unit: "ms", runtime: via.p50, baseline: one.p50, better: "lower" },
        { metric: "start to ready p99", unit: "ms", runtime: via.p99, baseline: one.p99, better: "lower" },
        {
          metric: "start to first frame p50",
          unit: "ms",
          runtime: viaFirst.p50,
          baseline: oneFirst.p50,
          better: "lower"
        },
        {
          metric: "frame latency (emit to client) p50",
          unit: "ms",
          runtime: viaFrame.p50,
          baseline: oneFrame.p50,
          better: "lower",
          target: mediaTarget(viaFrame.p50, oneFrame.p50)
        },
        {
          metric: "frame latency (emit to client) p99",
          unit: "ms",
          runtime: viaFrame.p99,
          baseline: oneFrame.p99,
          better: "lower"
        },
        {
          metric: "burst: spread (most - fewest per runner)",
          unit: "sessions",
          runtime: counts.length > 0 ? Math.max(...counts) - Math.min(...counts) : undefined,
          baseline: undefined,
          better: "lower"
        },
        {
          metric: "burst: failed",
          unit: "sessions",
          runtime: burst - placed.length,
          baseline: undefined,
          better: "lower"
        },
        {
          metric: "burst: coordinator CPU per session",
          unit: "ms",
          runtime: coordinatorCpuMs,
          baseline: undefined,
          better: "lower"
        }
      ],
      notes
    }
  } finally {
    single.child.kill("SIGKILL")
    await single.exited
    await cluster.stop()
  }
}

export const benchmark: Benchmark = {
  name: "cluster",
  run: async (config) => {
    if (!Postgres.available) {
      return [{
        name: "cluster",
        title: "16. Past one machine: start through the coordinator against one server",
        columns: { runtime: "-", baseline: "-" },
        rows: [],
        notes: [`skipped: ${Postgres.missing}`]
      }]
    }
    return [await measure(config)]
  }
}
