/**
 * 8. Model isolation: what the worker boundary costs, and what it buys.
 * - Throughput and command round trip with the model in a worker thread (what `reactor run` does), against the same
 *   server with the model in its own thread, in the same run.
 * - `/health` latency while a model's loop spins synchronously (in a worker), against the same server idle.
 * - `--workers 2` on 2 cores: two CPU-bound sessions together against one.
 */
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Proc from "./lib/Proc.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import { measureBoth } from "./roundtrip.js"
import type { Job } from "./servers/Job.js"
import * as Throughput from "./throughput.js"

const worker: Target.RuntimeOptions = { isolation: "worker" }
const inProcess: Target.RuntimeOptions = { isolation: "none" }

/** A latency row maker: one figure `f` of both sides' summaries (either may be missing after a failure). */
const latencyRow =
  (runtime: Stats.Summary | undefined, baseline: Stats.Summary | undefined) =>
  (metric: string, f: (s: Stats.Summary) => number): Table.Row => ({
    metric,
    unit: "ms",
    runtime: runtime && f(runtime),
    baseline: baseline && f(baseline),
    better: "lower"
  })

/** CPU time per delivered frame, µs: the server's CPU (every thread) over the frames it delivered. */
const cpuPerFrameUs = (m: Throughput.Measured | undefined) =>
  m === undefined ? undefined : (m.serverCpu / 100) * 1e6 / m.fps

const boundary = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const hosted = await attempt("worker throughput", notes, () => Throughput.measure("runtime", config, worker))
  const local = await attempt("in-process throughput", notes, () => Throughput.measure("runtime", config, inProcess))
  const trip = await attempt(
    "round trip",
    notes,
    () => measureBoth(config, { side: "runtime", options: inProcess }, { side: "runtime", options: worker })
  )
  const hostedCpu = cpuPerFrameUs(hosted)
  const localCpu = cpuPerFrameUs(local)
  const added = hostedCpu !== undefined && localCpu !== undefined ? hostedCpu - localCpu : undefined
  notes.push(
    `frames are ${Throughput.job.width}x${Throughput.job.height} raw RGB (${
      Throughput.job.width * Throughput.job.height * 3
    } bytes), ` +
      "a model that never sleeps; the worker moves each frame's buffer to the server thread as a transferable (no copy)"
  )
  notes.push(
    "CPU per frame = the server process's CPU (all threads, from /proc) / frames delivered; added = worker - in-process"
  )
  notes.push("round trip: commands sent one at a time, each awaited until acked, both servers in one interleaved loop")
  const row = latencyRow(trip?.runtime.latency, trip?.bare.latency)
  return {
    name: "isolation-boundary",
    title: "8a. The worker boundary: the model in a worker thread against the model in the server's thread",
    labels: { runtime: "worker", baseline: "in-process" },
    columns: {
      runtime: "reactor's server, model in a worker thread behind @effect/rpc (the default of `reactor run`)",
      baseline: "the same server and model, model in the server's thread (--isolation none)"
    },
    rows: [
      Table.ratioTarget(
        { metric: "frames/s", unit: "1/s", runtime: hosted?.fps, baseline: local?.fps, better: "higher" },
        { atLeast: 0.9 }
      ),
      {
        metric: "server CPU",
        unit: "% core",
        runtime: hosted?.serverCpu,
        baseline: local?.serverCpu,
        better: "neither"
      },
      { metric: "CPU per frame", unit: "µs", runtime: hostedCpu, baseline: localCpu, better: "lower" },
      Table.valueTarget(
        { metric: "added CPU per frame", unit: "µs", runtime: added, baseline: undefined, better: "lower" },
        { atMost: 15 }
      ),
      row("round trip p50", (s) => s.p50),
      row("round trip p99", (s) => s.p99)
    ],
    notes
  }
}

/** `/health` latencies, one request at a time, `count` of them (each bounded by `timeoutMs`). */
const healthLatencies = async (port: number, count: number, timeoutMs: number) => {
  const samples: Array<number> = []
  let unanswered = 0
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) })
      await response.text()
      samples.push(performance.now() - t0)
    } catch {
      unanswered++
    }
  }
  return { summary: Stats.summarize(samples), unanswered }
}

const spinJob: Job = { job: "spin" }

const health = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const count = pick(config, 400, 30)
  const measured = await attempt("worker", notes, () =>
    Target.using("runtime", spinJob, async (target) => {
      const idle = await healthLatencies(target.port, count, 5000)
      const connection = await target.open()
      await Client.sleep(pick(config, 500, 100))
      const spinning = await healthLatencies(target.port, count, 5000)
      const cpu = Proc.sample(target.pid)
      await connection.close()
      return { idle, spinning, cpu }
    }, worker))
  // The same with the model in the server's thread: the loop never yields, so nothing answers; one bounded probe.
  const local = await attempt("in-process", notes, () =>
    Target.using("runtime", spinJob, async (target) => {
      await fetch(`http://127.0.0.1:${target.port}/start_session`, { method: "POST", body: "{}" })
      return healthLatencies(target.port, 1, 2000)
    }, inProcess))
  if (local !== undefined) {
    notes.push(
      `for contrast, the same model in the server's thread (--isolation none): ${local.unanswered} of 1 /health ` +
        `request${
          local.unanswered === 1 ? " got no answer within 2000 ms" : ` answered in ${local.summary.max.toFixed(1)} ms`
        }`
    )
  }
  notes.push(
    `${count} sequential GET /health requests on each side; the spinning model is a loop \`for (;;)\` that never yields`
  )
  const row = latencyRow(measured?.spinning.summary, measured?.idle.summary)
  return {
    name: "isolation-health",
    title: "8b. /health while a model's loop spins synchronously (model in a worker thread)",
    labels: { runtime: "spinning", baseline: "idle" },
    columns: {
      runtime: "one session whose model loop never yields, in a worker thread",
      baseline: "the same server with no session"
    },
    rows: [
      row("p50", (s) => s.p50),
      Table.ratioTarget(row("p99", (s) => s.p99), { atMost: 2 }),
      {
        metric: "unanswered",
        unit: "count",
        runtime: measured?.spinning.unanswered,
        baseline: measured?.idle.unanswered,
        better: "lower"
      }
    ],
    notes
  }
}

/** Frames per second all sessions of a server deliver together over a window. */
const framesPerSecond = async (target: Target.Target, sessions: number, config: Config) => {
  const connections = await Promise.all(Array.from({ length: sessions }, () => target.open()))
  let counting = false
  let frames = 0
  for (const connection of connections) {
    connection.onFrame = () => {
      if (counting) frames++
    }
  }
  await Client.sleep(pick(config, 1500, 300))
  const t0 = performance.now()
  counting = true
  await Client.sleep(pick(config, 6000, 700))
  counting = false
  const fps = frames / ((performance.now() - t0) / 1000)
  await Promise.all(connections.map((connection) => connection.close()))
  return fps
}

const scaling = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const job: Job = { job: "burn", work: pick(config, 3_000_000, 300_000) }
  const options: Target.RuntimeOptions = { isolation: "worker", workers: 2 }
  const one = await attempt(
    "one session",
    notes,
    () => Target.using("runtime", job, (t) => framesPerSecond(t, 1, config), options)
  )
  const two = await attempt(
    "two sessions",
    notes,
    () => Target.using("runtime", job, (t) => framesPerSecond(t, 2, config), options)
  )
  notes.push(
    `each step of the model is ${
      job.work.toLocaleString("en-US")
    } iterations of integer arithmetic, then a 16x16 frame: ` +
      "frames/s counts how much CPU the model got; both columns are `--workers 2` servers, the sessions placed on the least-loaded copy"
  )
  return {
    name: "isolation-workers",
    title: "8c. --workers 2 on 2 cores: two CPU-bound sessions together against one",
    labels: { runtime: "2 sessions", baseline: "1 session" },
    columns: {
      runtime: "two sessions of a CPU-bound model on a --workers 2 server, frames of both counted",
      baseline: "one session of the same model on the same kind of server"
    },
    rows: [
      Table.ratioTarget({ metric: "frames/s", unit: "1/s", runtime: two, baseline: one, better: "higher" }, {
        atLeast: 1.6
      })
    ],
    notes
  }
}

export const benchmark: Benchmark = {
  name: "isolation",
  run: async (config) => [await boundary(config), await health(config), await scaling(config)]
}
