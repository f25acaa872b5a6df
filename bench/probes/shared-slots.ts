/**
 * Probe (issue 19): would frames in `SharedArrayBuffer` slots, released by one timer on the server thread, bring the
 * model-in-a-worker path to bench 5's target (server CPU per frame <= 1.5x bare at N=200 and N=500)? Measures, in the
 * same run and alternating, N sessions of bench 5's job (74x74 RGB = 16 KiB frames, 30 fps, block 1) on:
 *
 * - `bare`: the bare `ws` server (bench/servers/bare.ts), frames made and written on one thread: the baseline (a);
 * - `runtime`: the real runtime with the model in a worker, as `reactor run` serves it (bench/servers/runtime.ts with
 *   `BENCH_ISOLATION=worker`): today's path (b);
 * - `clone`: a worker posting each frame (structured clone) to a server thread that writes it: (b)'s boundary with
 *   no Effect, no pacer (bench/probes/slots-server.ts);
 * - `slots`: the proposed design (c): a pool of shared slots, a ready ring drained once per turn, one release timer
 *   for all sessions on the server thread, no message and no allocation per frame at the boundary;
 * - `slots-effect`: (c) with the host's producers written as the bench model is (Effect fibers on `Effect.sleep`).
 *
 * Each server is a subprocess; the reading clients run in this process, so their CPU is not the server's. Server CPU
 * is read from /proc (all threads), per thread too. On a shared VM stolen time counts as CPU time: compare within a
 * round, and the medians over rounds.
 * `npx tsx bench/probes/shared-slots.ts [--n=200,500] [--rounds=3] [--seconds=8] [--variants=bare,runtime,...]`;
 * also `npm run bench -- --only=slots` (one round, N=200 and 500; smoke: N=5).
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import * as Child from "../lib/Child.js"
import * as Client from "../lib/Client.js"
import type { Benchmark, Config } from "../lib/Harness.js"
import * as Proc from "../lib/Proc.js"
import * as Table from "../lib/Table.js"
import * as Target from "../lib/Target.js"
import type { Generate } from "../servers/Job.js"
import type { SlotsJob } from "./slots-server.js"

const job: Generate = { job: "generate", fps: 30, block: 1, width: 74, height: 74, stateful: false }
const periodMs = 1000 / job.fps

export const variants = ["bare", "runtime", "clone", "slots", "slots-effect", "slots-poll"] as const
export type Variant = typeof variants[number]

const label: Record<Variant, string> = {
  bare: "(a) bare ws",
  runtime: "(b) runtime, worker",
  clone: "(b-) clone per frame",
  slots: "(c) SAB slots",
  "slots-effect": "(c+) slots, Effect host",
  "slots-poll": "(c') slots, polled, no doorbell"
}

interface Server {
  readonly pid: number
  readonly open: () => Promise<Client.Connection>
  readonly stop: () => Promise<void>
  /** The counters of a slots server (`slots-stats` on its stderr), if it has them. */
  readonly stats: () => Promise<Record<string, number> | undefined>
}

const start = async (variant: Variant, n: number): Promise<Server> => {
  if (variant === "bare" || variant === "runtime") {
    const target = await Target.start(variant, job, variant === "runtime" ? { isolation: "worker" } : {})
    return { pid: target.pid, open: target.open, stop: target.stop, stats: async () => undefined }
  }
  const slotsJob: SlotsJob = { variant, fps: job.fps, width: job.width, height: job.height, maxSessions: n + 8 }
  // Child starts scripts of bench/servers/: this one lives next door.
  const child = await Child.start("../probes/slots-server.ts", slotsJob)
  return {
    pid: child.pid,
    open: () => Client.connect(`ws://127.0.0.1:${child.port}/`),
    stop: child.stop,
    stats: async () => {
      // Each answer is a fresh line; wait (2 s at most) for one more than there were.
      const lines = () => child.stderrTail().split("\n").filter((l) => l.startsWith("slots-stats "))
      const before = lines().length
      child.command("stats")
      for (let waited = 0; waited < 2000 && lines().length <= before; waited += 20) await Client.sleep(20)
      const line = lines().at(-1)
      return line === undefined ? undefined : JSON.parse(line.slice("slots-stats ".length)) as Record<string, number>
    }
  }
}

/** One measurement of one variant. */
export interface Measured {
  readonly variant: Variant
  readonly n: number
  readonly fpsMean: number
  readonly latePct: number
  /** Server CPU (all threads) per frame delivered, µs. */
  readonly cpuPerFrameUs: number
  readonly cpuPercent: number
  /** Per frame delivered, µs: the server's main thread, the model host thread, the rest (V8's helpers, libuv). */
  readonly serverUs: number
  readonly hostUs: number
  readonly otherUs: number
  readonly clientPercent: number
  readonly rssMiB: number
  /** Doorbell messages per frame (slots variants). */
  readonly bellsPerFrame: number | undefined
  readonly notes: string
}

/**
 * The model host thread of a server, by its name in `Proc.threads`: the thread at a positive niceness (the runtime's
 * host runs at nice +5, `HostWorker.yieldToServer`, and so does the probe's), or one named `model-host`.
 */
const hostThread = (pid: number): string | undefined => {
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
      const nice = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16])
      if (comm === "model-host") return comm
      if (nice > 0) return comm === "node" ? `node#${tid}` : comm
    }
  } catch {
    // gone
  }
  return undefined
}

const measure = async (
  variant: Variant,
  n: number,
  warmupMs: number,
  windowMs: number
): Promise<Measured> => {
  const server = await start(variant, n)
  try {
    const connections = await Client.openMany(n, server.open)
    const tracks = connections.map(() => ({ indexes: [] as Array<number>, times: [] as Array<number> }))
    let counting = false
    connections.forEach((connection, i) => {
      const track = tracks[i]!
      connection.onFrame = (message, at) => {
        if (!counting) return
        track.indexes.push(message.readUInt32LE(8))
        track.times.push(at)
      }
    })
    await Client.sleep(warmupMs)
    const stats0 = await server.stats()
    const before = Proc.sample(server.pid)
    const threads0 = Proc.threads(server.pid)
    const client0 = process.cpuUsage()
    const t0 = performance.now()
    counting = true
    let rssMax = before?.rssKiB ?? Number.NaN
    while (performance.now() < t0 + windowMs) {
      await Client.sleep(Math.min(1000, t0 + windowMs - performance.now()))
      rssMax = Math.max(rssMax, Proc.sample(server.pid)?.rssKiB ?? Number.NaN)
    }
    counting = false
    const seconds = (performance.now() - t0) / 1000
    const after = Proc.sample(server.pid)
    const threads1 = Proc.threads(server.pid)
    const client1 = process.cpuUsage(client0)
    const stats1 = await server.stats()
    await Promise.all(connections.map((c) => c.close()))

    const frames = tracks.reduce((sum, t) => sum + t.times.length, 0)
    const lateness: Array<number> = []
    for (const t of tracks) {
      // As bench 5: each session's schedule aligned on its best-placed frame; late = over one period behind it.
      let offset = Number.POSITIVE_INFINITY
      for (let i = 0; i < t.times.length; i++) offset = Math.min(offset, t.times[i]! - t.indexes[i]! * periodMs)
      for (let i = 0; i < t.times.length; i++) lateness.push(t.times[i]! - t.indexes[i]! * periodMs - offset)
    }
    const perFrame = (cpuSeconds: number) => (cpuSeconds * 1e6) / Math.max(1, frames)
    const host = hostThread(server.pid)
    let serverS = 0
    let hostS = 0
    let otherS = 0
    const split: Array<string> = []
    for (const [name, total] of threads1) {
      const used = total - (threads0.get(name) ?? 0)
      if (name === "main") serverS += used
      else if (name === host) hostS += used
      else otherS += used
      if (used / seconds >= 0.005) split.push(`${name === host ? "host" : name} ${(100 * used / seconds).toFixed(1)}%`)
    }
    const bells = stats0 !== undefined && stats1 !== undefined ? stats1.doorbells! - stats0.doorbells! : undefined
    const extra = stats1 !== undefined
      ? `; server counters: dropped ${stats1.dropped}, pool empty ${stats1.poolEmpty}, credit waits ${stats1.creditWaits}`
      : ""
    return {
      variant,
      n,
      fpsMean: frames / seconds / n,
      latePct: lateness.length > 0 ? (100 * lateness.filter((x) => x > periodMs).length) / lateness.length : NaN,
      cpuPerFrameUs: before && after ? perFrame(after.cpuSeconds - before.cpuSeconds) : NaN,
      cpuPercent: before && after ? Proc.cpuPercent(before, after) : NaN,
      serverUs: perFrame(serverS),
      hostUs: perFrame(hostS),
      otherUs: perFrame(otherS),
      clientPercent: ((client1.user + client1.system) / 1e6 / seconds) * 100,
      rssMiB: rssMax / 1024,
      bellsPerFrame: bells === undefined ? undefined : bells / Math.max(1, frames),
      notes: `threads (% of a core): ${split.join(", ")}${extra}`
    }
  } finally {
    await server.stop()
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const f1 = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(1)
const f2 = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(2)

/** Runs `rounds` rounds of every variant at every N, alternating, logging each measurement. */
export const runAll = async (options: {
  readonly counts: ReadonlyArray<number>
  readonly rounds: number
  readonly chosen: ReadonlyArray<Variant>
  readonly warmupMs: number
  readonly windowMs: number
  readonly log: (line: string) => void
}): Promise<Array<Measured>> => {
  const all: Array<Measured> = []
  for (const n of options.counts) {
    for (let round = 1; round <= options.rounds; round++) {
      // Alternate the order between rounds, so no variant always runs first (or right after the runtime).
      const order = round % 2 === 1 ? options.chosen : [...options.chosen].reverse()
      for (const variant of order) {
        try {
          const m = await measure(variant, n, options.warmupMs, options.windowMs)
          all.push(m)
          options.log(
            `N=${n} round ${round} ${label[variant]}: ${f1(m.cpuPerFrameUs)} µs/frame (server ${f1(m.serverUs)}, ` +
              `host ${f1(m.hostUs)}, other ${f1(m.otherUs)}), ${f1(m.cpuPercent)}% core, ${
                f1(m.fpsMean)
              } fps/session, ` +
              `${f2(m.latePct)}% late, client ${f1(m.clientPercent)}%, RSS ${f1(m.rssMiB)} MiB` +
              (m.bellsPerFrame !== undefined ? `, ${m.bellsPerFrame.toFixed(3)} doorbells/frame` : "") +
              `; ${m.notes}`
          )
        } catch (error) {
          options.log(
            `N=${n} round ${round} ${label[variant]}: FAILED ${error instanceof Error ? error.message : error}`
          )
        }
      }
    }
  }
  return all
}

/** The summary: per N and variant, medians over the rounds and the ratio of the medians to (a). */
export const summarize = (all: ReadonlyArray<Measured>): string => {
  const lines = [
    "| N | variant | runs | server CPU µs/frame | ratio to (a) | main thread µs | host thread µs | other threads µs | fps/session | late % | doorbells/frame |",
    "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  ]
  for (const n of [...new Set(all.map((m) => m.n))]) {
    const bare = median(all.filter((m) => m.n === n && m.variant === "bare").map((m) => m.cpuPerFrameUs))
    for (const variant of variants) {
      const ms = all.filter((m) => m.n === n && m.variant === variant)
      if (ms.length === 0) continue
      const cpu = median(ms.map((m) => m.cpuPerFrameUs))
      const bells = ms.map((m) => m.bellsPerFrame).filter((b): b is number => b !== undefined)
      lines.push(
        `| ${n} | ${label[variant]} | ${ms.length} | ${f1(cpu)} | ${f2(cpu / bare)}x | ${
          f1(median(ms.map((m) => m.serverUs)))
        } | ${f1(median(ms.map((m) => m.hostUs)))} | ${f1(median(ms.map((m) => m.otherUs)))} | ${
          f1(median(ms.map((m) => m.fpsMean)))
        } | ${f2(median(ms.map((m) => m.latePct)))} | ${bells.length > 0 ? median(bells).toFixed(3) : "-"} |`
      )
    }
  }
  return lines.join("\n")
}

/** The variants of the bench table (the polled one only from the command line). */
const benchVariants = variants.filter((v) => v !== "slots-poll")

/** `npm run bench -- --only=slots`: one round of every variant at N=200 and 500 (smoke: N=5, 1 s). */
export const benchmark: Benchmark = {
  name: "slots",
  run: async (config: Config) => {
    const counts = config.smoke ? [5] : [200, 500]
    const all = await runAll({
      counts,
      rounds: 1,
      chosen: benchVariants,
      warmupMs: config.smoke ? 500 : 2000,
      windowMs: config.smoke ? 1000 : 8000,
      log: config.log
    })
    const rows: Array<Table.Row> = []
    const notes: Array<string> = []
    for (const n of counts) {
      const bare = all.find((m) => m.n === n && m.variant === "bare")
      for (const variant of benchVariants.filter((v) => v !== "bare")) {
        const m = all.find((x) => x.n === n && x.variant === variant)
        if (m === undefined) notes.push(`N=${n} ${label[variant]}: FAILED (see the log)`)
        const cpuRow: Table.Row = {
          metric: `N=${n} ${label[variant]}: server CPU per frame`,
          unit: "µs",
          runtime: m?.cpuPerFrameUs,
          baseline: bare?.cpuPerFrameUs,
          better: "lower"
        }
        rows.push(
          variant === "slots" ? Table.ratioTarget(cpuRow, { atMost: 1.5 }) : cpuRow,
          {
            metric: `N=${n} ${label[variant]}: fps per session`,
            unit: "1/s",
            runtime: m?.fpsMean,
            baseline: bare?.fpsMean,
            better: "higher"
          },
          {
            metric: `N=${n} ${label[variant]}: late frames`,
            unit: "%",
            runtime: m?.latePct,
            baseline: bare?.latePct,
            better: "lower"
          }
        )
        if (m !== undefined) notes.push(`N=${n} ${label[variant]}: ${m.notes}`)
      }
      if (bare !== undefined) notes.push(`N=${n} (a) bare ws: ${bare.notes}`)
    }
    notes.push(
      "a probe of a design, not the runtime: (b) is the real runtime (model in a worker); (b-), (c), (c+) are " +
        "bench/probes/slots-server.ts. Each column 'runtime' is the variant named in the metric; CPU is the server " +
        "process's, all threads, per frame the clients received. Several alternating rounds: " +
        "npx tsx bench/probes/shared-slots.ts"
    )
    return [{
      name: "slots",
      title: "Probe: frames in SharedArrayBuffer slots across the worker boundary (issue 19)",
      columns: {
        runtime: "the variant in the metric's name (b, b-, c, c+)",
        baseline: "(a) bare ws server, frames made and written on one thread"
      },
      labels: { runtime: "variant", baseline: "bare ws" },
      rows,
      notes
    }]
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const counts = (arg("n") ?? "200,500").split(",").map(Number)
  const chosen = (arg("variants")?.split(",") ?? variants) as ReadonlyArray<Variant>
  const rounds = Number(arg("rounds") ?? 3)
  const seconds = Number(arg("seconds") ?? 8)
  const load0 = (await import("node:os")).loadavg()
  console.log(`# shared-slots probe: ${new Date().toISOString()}, load ${load0.map((x) => x.toFixed(2)).join(" ")}`)
  console.log(
    `# N=${counts.join(",")}, ${rounds} rounds alternating, ${seconds} s measured after 2 s warm-up; ` +
      `16 KiB frames (74x74 RGB), 30 fps, block 1; server node flags: ${Child.shippedNodeArgs.join(" ") || "none"}`
  )
  const all = await runAll({
    counts,
    rounds,
    chosen,
    warmupMs: 2000,
    windowMs: seconds * 1000,
    log: (line) => console.log(line)
  })
  const load1 = (await import("node:os")).loadavg()
  console.log("")
  console.log(summarize(all))
  console.log(`# load at the end: ${load1.map((x) => x.toFixed(2)).join(" ")}`)
  process.exit(0)
}
