/**
 * 5. Scale: N concurrent sessions of 30 fps, 16 KiB frames on one server process (a subprocess, so its CPU and
 * memory are read from /proc). Then idle memory: N sessions with sockets and a model that emits nothing.
 */
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Proc from "./lib/Proc.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import type { Generate } from "./servers/Job.js"

const job: Generate = { job: "generate", fps: 30, block: 1, width: 74, height: 74, stateful: false }
const periodMs = 1000 / job.fps

interface Loaded {
  readonly fpsMean: number
  readonly fpsMin: number
  /** Frames that arrived more than one period behind their session's 30 fps schedule, % of frames. */
  readonly latePct: number
  readonly lateness: Stats.Summary
  readonly cpu: number
  /** Server CPU per frame delivered, µs (all its threads). */
  readonly cpuPerFrameUs: number
  /** The benchmark process's own CPU over the window (its clients), % of a core. */
  readonly clientCpu: number
  readonly rssMiB: number
  readonly threads: ReadonlyArray<readonly [string, number]>
}

interface Track {
  readonly indexes: Array<number>
  readonly times: Array<number>
}

const closeAll = (connections: ReadonlyArray<Client.Connection>) => Promise.all(connections.map((c) => c.close()))

const loaded = (side: Target.Side, n: number, config: Config): Promise<Loaded> =>
  Target.using(side, job, async (target) => {
    const connections = await Client.openMany(n, target.open)
    const tracks: Array<Track> = connections.map(() => ({ indexes: [], times: [] }))
    let counting = false
    connections.forEach((connection, i) => {
      const track = tracks[i]!
      connection.onFrame = (message, at) => {
        if (!counting) return
        track.indexes.push(message.readUInt32LE(8))
        track.times.push(at)
      }
    })
    await Client.sleep(pick(config, 2000, 500))
    const windowMs = pick(config, 8000, 1000)
    const before = Proc.sample(target.pid)
    const threads0 = Proc.threads(target.pid)
    const client0 = process.cpuUsage()
    const t0 = performance.now()
    counting = true
    let rssMax = before?.rssKiB ?? Number.NaN
    while (performance.now() < t0 + windowMs) {
      await Client.sleep(Math.min(1000, t0 + windowMs - performance.now()))
      rssMax = Math.max(rssMax, Proc.sample(target.pid)?.rssKiB ?? Number.NaN)
    }
    counting = false
    const seconds = (performance.now() - t0) / 1000
    const after = Proc.sample(target.pid)
    const threads1 = Proc.threads(target.pid)
    const client1 = process.cpuUsage(client0)
    await closeAll(connections)

    const perSessionFps = tracks.map((t) => t.times.length / seconds)
    const lateness: Array<number> = []
    for (const t of tracks) {
      // Each session's schedule is aligned on its best-placed frame; lateness is the delay behind it.
      let offset = Number.POSITIVE_INFINITY
      for (let i = 0; i < t.times.length; i++) offset = Math.min(offset, t.times[i]! - t.indexes[i]! * periodMs)
      for (let i = 0; i < t.times.length; i++) lateness.push(t.times[i]! - t.indexes[i]! * periodMs - offset)
    }
    const late = lateness.filter((x) => x > periodMs).length
    return {
      fpsMean: perSessionFps.reduce((a, b) => a + b, 0) / Math.max(1, n),
      fpsMin: Math.min(...perSessionFps),
      latePct: lateness.length > 0 ? (100 * late) / lateness.length : Number.NaN,
      lateness: Stats.summarize(lateness),
      cpu: before && after ? Proc.cpuPercent(before, after) : Number.NaN,
      cpuPerFrameUs: before && after
        ? ((after.cpuSeconds - before.cpuSeconds) * 1e6) / Math.max(1, lateness.length)
        : Number.NaN,
      clientCpu: ((client1.user + client1.system) / 1e6 / seconds) * 100,
      rssMiB: rssMax / 1024,
      threads: Proc.threadPercents(threads0, threads1, seconds)
    }
  }, { isolation: Target.defaultIsolation })

interface Idle {
  readonly perSessionKiB: number
  readonly rssMiB: number
}

/** RSS growth per idle session: warm up, collect, read; open N; collect, read again. */
const idle = (side: Target.Side, n: number, config: Config): Promise<Idle> =>
  Target.using(side, { job: "idle" }, async (target) => {
    const settle = async () => {
      await Client.sleep(pick(config, 700, 200))
      target.gc()
      await Client.sleep(pick(config, 500, 200))
      return Proc.sample(target.pid)
    }
    await closeAll(await Client.openMany(Math.min(n, 10), target.open))
    const before = await settle()
    const connections = await Client.openMany(n, target.open)
    const after = await settle()
    await closeAll(connections)
    return {
      perSessionKiB: before && after ? (after.rssKiB - before.rssKiB) / n : Number.NaN,
      rssMiB: (after?.rssKiB ?? Number.NaN) / 1024
    }
  })

export const benchmark: Benchmark = {
  name: "scale",
  run: async (config) => {
    const notes: Array<string> = []
    const rows: Array<Table.Row> = []
    // BENCH_SCALE_N=200 (or 50,500) runs only those loads; BENCH_SCALE_IDLE=0 skips the idle-memory measurement.
    const onlyN = process.env.BENCH_SCALE_N?.split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0)
    const counts = onlyN !== undefined && onlyN.length > 0 ? onlyN : pick(config, [50, 200, 500], [5])
    for (const n of counts) {
      config.log(`  scale: ${n} sessions`)
      const bare = await attempt(`bare, ${n} sessions`, notes, () => loaded("bare", n, config))
      const runtime = await attempt(`runtime, ${n} sessions`, notes, () => loaded("runtime", n, config))
      const row = (metric: string, unit: string, f: (m: Loaded) => number, better: Table.Better) => ({
        metric: `N=${n}: ${metric}`,
        unit,
        runtime: runtime && f(runtime),
        baseline: bare && f(bare),
        better
      })
      if (runtime !== undefined) notes.push(Proc.threadsNote(`runtime N=${n}`, runtime.threads))
      rows.push(
        row("delivered fps per session (mean)", "1/s", (m) => m.fpsMean, "higher"),
        row("delivered fps per session (min)", "1/s", (m) => m.fpsMin, "higher"),
        n === 200 || config.smoke
          ? Table.valueTarget(row("late frames", "%", (m) => m.latePct, "lower"), { atMost: 1, text: "< 1%" })
          : row("late frames", "%", (m) => m.latePct, "lower"),
        row("lateness p99", "ms", (m) => m.lateness.p99, "lower"),
        row("server CPU", "% core", (m) => m.cpu, "neither"),
        Table.ratioTarget(row("server CPU per frame", "µs", (m) => m.cpuPerFrameUs, "lower"), { atMost: 1.5 }),
        row("client CPU (bench process)", "% core", (m) => m.clientCpu, "neither"),
        row("server RSS (max)", "MiB", (m) => m.rssMiB, "lower")
      )
    }
    const idleN = pick(config, 500, 10)
    const skipIdle = process.env.BENCH_SCALE_IDLE === "0"
    if (!skipIdle) config.log(`  scale: ${idleN} idle sessions`)
    const bareIdle = skipIdle ? undefined : await attempt("bare, idle", notes, () => idle("bare", idleN, config))
    const runtimeIdle = skipIdle
      ? undefined
      : await attempt("runtime, idle", notes, () => idle("runtime", idleN, config))
    rows.push(
      Table.valueTarget({
        metric: `idle: RSS per session (N=${idleN})`,
        unit: "KiB",
        runtime: runtimeIdle?.perSessionKiB,
        baseline: bareIdle?.perSessionKiB,
        better: "lower"
      }, { atMost: 256 }),
      {
        metric: `idle: server RSS with ${idleN} sessions`,
        unit: "MiB",
        runtime: runtimeIdle?.rssMiB,
        baseline: bareIdle?.rssMiB,
        better: "lower"
      }
    )
    notes.push(
      `each session: ${job.width}x${job.height} RGB frames (${job.width * job.height * 3} bytes + 24-byte header) at ` +
        `${job.fps} fps, block 1; ${pick(config, 8, 1)} s measured after a ${pick(config, 2, 0.5)} s warm-up; ` +
        "the clients all run in the benchmark process (they share the machine's 2 cores with the server)"
    )
    notes.push(
      `late = a frame arriving more than one period (${periodMs.toFixed(1)} ms) behind its session's 30 fps schedule ` +
        "(schedule aligned on the session's best-placed frame; frames never sent count as missing fps, not late)"
    )
    notes.push(
      "idle: RSS after a forced GC with N idle sessions (model emits nothing, socket open) minus RSS after a forced " +
        "GC before opening them, divided by N"
    )
    return [{
      name: "scale",
      title: "5. Scale (N sessions x 30 fps x 16 KiB frames, one server process)",
      columns: {
        runtime: "server subprocess with N sessions of a 30 fps model (Effect.sleep on an absolute schedule)",
        baseline: "ws server subprocess with N sockets, one setTimeout generator + release per socket"
      },
      rows,
      notes
    }]
  }
}
