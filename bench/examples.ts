/**
 * 12. Examples at their defaults: each example model in `examples/` served as `reactor run` serves it (the model in
 * a worker thread, its default config, the server's default settings), driven as a viewer would: one WebSocket
 * session at the transport's default format (JPEG), a command every few hundred ms, and for the webcam example a
 * 640x360 camera picture sent as binary input frames at the camera's 30 fps. Each example should deliver its own
 * declared frame rate; an example that delivers no frame at all (none within 30 s of its session's start), or
 * answers a command with an error, fails the run (the smoke run in CI included); a slow one never does.
 * 04 is a client of 01, not a model: it has no row. `BENCH_EXAMPLES=05,01` measures some examples only.
 */
import { Schema } from "effect"
import * as os from "node:os"
import * as FrameHeader from "../src/protocol/FrameHeader.js"
import * as Child from "./lib/Child.js"
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Proc from "./lib/Proc.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Wire from "./lib/Wire.js"
import type { Example as Job } from "./servers/example.js"

/** A command as the viewer sends it. */
interface Command {
  readonly type: string
  readonly data: unknown
}

/** An example, how its declared rate reads off its config, and what the viewer does. */
interface Example {
  readonly name: string
  readonly module: string
  /** The frames per second the example means to deliver at its default config. */
  readonly declared: (config: Record<string, number>) => number
  /** The periodic command, the `i`-th time. */
  readonly command: (i: number) => Command
  /** The input track fed a camera picture at 30 fps, if the example reads one. */
  readonly camera?: string
  /** Settings measured one after the other on the same session (a row group each), each set by a command. */
  readonly variants?: ReadonlyArray<{ readonly name: string; readonly setup: Command }>
}

const cameraFps = 30
const cameraWidth = 640
const cameraHeight = 360

const prompts = ["a rainy night in the city", "a calm sea at dawn", "a forest in autumn"]
const walks = ["forward", "none", "left", "none", "back", "none", "right", "none"]
const pans = ["left", "none", "up", "none", "right", "none", "down", "none"]

const examples: ReadonlyArray<Example> = [
  {
    name: "01-prompt",
    module: "examples/01-prompt.ts",
    declared: (config) => config.fps!,
    command: (i) => ({ type: "set_prompt", data: { prompt: prompts[i % prompts.length] } })
  },
  {
    name: "02-world",
    module: "examples/02-world.ts",
    declared: (config) => config.fps!,
    command: (i) => ({ type: "move", data: { direction: walks[i % walks.length] } })
  },
  {
    name: "03-stopping",
    module: "examples/03-stopping.ts",
    // No fps setting: a frame is its 20 default denoising steps of `stepMs` simulated GPU time each.
    declared: (config) => 1000 / (20 * config.stepMs!),
    command: (i) => ({ type: "set_seed", data: { seed: i } })
  },
  {
    name: "09-picture",
    module: "examples/09-picture.ts",
    declared: (config) => config.fps!,
    command: (i) => ({ type: "pan", data: { direction: pans[i % pans.length] } })
  },
  {
    name: "05-webcam-filter",
    module: "examples/05-webcam-filter.ts",
    declared: (config) => config.fps!,
    command: (i) => ({ type: "set_strength", data: { strength: i % 2 === 0 ? 0.8 : 0.7 } }),
    camera: "webcam",
    variants: (["edges", "sketch", "posterize"] as const).map((filter) => ({
      name: filter,
      setup: { type: "set_filter", data: { filter } }
    }))
  }
]

/**
 * A fixed picture that looks like a camera's rather than noise (the filters and the JPEG encoder do what they would
 * do with a real one): a sky-to-floor gradient, a few soft discs, and a little sensor noise.
 */
const cameraPicture = (width: number, height: number) => {
  const data = new Uint8Array(width * height * 3)
  const discs = [[0.3, 0.45, 0.18, [220, 180, 150]], [0.72, 0.55, 0.12, [60, 90, 160]], [0.55, 0.2, 0.06, [
    250,
    240,
    200
  ]]]
  let seed = 0x2545f491
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = y / height
      let rgb = [40 + 120 * t, 60 + 80 * t, 120 - 60 * t]
      for (const [cx, cy, r, color] of discs as Array<[number, number, number, Array<number>]>) {
        const d = Math.hypot(x / height - cx * (width / height), y / height - cy) / r
        if (d < 1) rgb = rgb.map((value, c) => value + (color[c]! - value) * Math.min(1, (1 - d) * 4))
      }
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      const noise = ((seed >>> 24) & 15) - 8
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, rgb[c]! + noise))
    }
  }
  return { width, height, data }
}

/** Starts a session over HTTP as a viewer does; its id and the index of each capabilities track by name. */
const startSession = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/start_session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}"
  })
  const body = (await response.json()) as {
    session_id?: string
    capabilities?: { tracks?: Array<{ name: string }> }
  }
  if (!response.ok || body.session_id === undefined) {
    throw new Error(`start_session answered ${response.status}: ${JSON.stringify(body)}`)
  }
  return { id: body.session_id, tracks: (body.capabilities?.tracks ?? []).map((track) => track.name) }
}

interface Measured {
  readonly name: string
  readonly declaredFps: number
  readonly deliveredFps: number
  /** CPU of the server's process (its thread and the model's worker thread) per delivered frame. */
  readonly cpuMsPerFrame: number
  readonly cpuPercent: number
  readonly threads: Array<readonly [string, number]>
  /** From sending a command to the first frame generated after it was applied (`commandAck.frame`). */
  readonly latency: Stats.Summary
  readonly commands: number
  /** Commands sent in the window whose frame took too long (no ack in 10 s, or no frame 5 s after it). */
  readonly missed: number
  readonly cameraFps: number | undefined
  /** The session's own counts over the window (`GET /sessions/{id}/info`): what the model generated, and dropped. */
  readonly generatedFps: number
  readonly droppedFrames: number
  readonly droppedInputFrames: number
  /** The benchmark process's own CPU (the viewer), in % of a core: a starved viewer reads late. */
  readonly viewerCpuPercent: number
  /** How long the server's threads were runnable but waiting for a CPU, per second of the window (ms). */
  readonly waitingMsPerSecond: number
  /** The machine's 1-minute load average at the window's end. */
  readonly load: number
}

interface Info {
  readonly frames_generated: number
  readonly dropped_frames: number
  readonly dropped_input_frames: number
}

const info = async (port: number, id: string): Promise<Info> => {
  const response = await fetch(`http://127.0.0.1:${port}/sessions/${id}/info`)
  if (!response.ok) throw new Error(`GET /sessions/${id}/info answered ${response.status}`)
  return ((await response.json()) as { stats: Info }).stats
}

/** The command latencies of one window, and the commands that missed. */
interface Timed {
  readonly latencies: Array<number>
  readonly missed: Array<number>
}

/** A viewer's session: frames counted by arrival, commands timed to the first frame after them. */
const viewer = async (port: number) => {
  const session = await startSession(port)
  // No `format`: the transport's default (JPEG), as a viewer's page gets.
  const connection = await Client.connect(`ws://127.0.0.1:${port}/sessions/${session.id}/transport/websocket`)
  let frames = 0
  let lastIndex = -1
  const arrivals = new Map<number, number>()
  const waiting = new Set<
    { readonly frame: number; readonly done: (at: number) => void; readonly fail: (error: Error) => void }
  >()
  let first: (() => void) | undefined
  const firstFrame = new Promise<void>((resolve) => (first = resolve))
  connection.onFrame = (message, at) => {
    const header = Wire.readHeader(message)
    if (header === undefined) return
    first?.()
    frames++
    lastIndex = header.index
    arrivals.set(header.index, at)
    if (arrivals.size > 1024) arrivals.delete(arrivals.keys().next().value!)
    for (const w of waiting) if (w.frame <= header.index) (waiting.delete(w), w.done(at))
  }
  /** When the first frame at or after `frame` arrived (or arrives); undefined when none came within 5 s. */
  const frameAtOrAfter = (frame: number) =>
    new Promise<number | undefined>((resolve, reject) => {
      if (lastIndex >= frame) {
        const at = [...arrivals].find(([index]) => index >= frame)?.[1]
        return at === undefined ? reject(new Error(`frame ${frame} arrived but was not recorded`)) : resolve(at)
      }
      const timer = setTimeout(() => {
        waiting.delete(entry)
        resolve(undefined)
      }, 5000)
      const entry = {
        frame,
        done: (at: number) => (clearTimeout(timer), resolve(at)),
        fail: (error: Error) => (clearTimeout(timer), reject(error))
      }
      waiting.add(entry)
    })
  connection.ws.once("close", () => {
    for (const entry of waiting) entry.fail(new Error("the socket closed"))
    waiting.clear()
  })
  /**
   * Sends a command; resolves with the time from its send to the first frame generated after it, or undefined when
   * that took too long (no ack within 10 s, no frame within 5 s of it): slow is a figure, an error reply fails.
   */
  const timed = async ({ data, type }: Command): Promise<number | undefined> => {
    const t0 = performance.now()
    const ack = await connection.request(type, data, 10_000).catch((error: Error) => {
      if (error.message.includes("not acked within")) return undefined
      throw error
    })
    const at = ack === undefined ? undefined : await frameAtOrAfter(ack.frame)
    return at === undefined ? undefined : at - t0
  }
  /** Resolves once the first frame arrived; rejects when none did within `ms`: the example cannot run at all. */
  const started = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the example delivered no frame within ${ms / 1000} s`)), ms)
      void firstFrame.then(() => (clearTimeout(timer), resolve()))
    })
  return { session, connection, frames: () => frames, timed, started }
}

/**
 * Starts an example's server. It loads the model in its worker thread before it listens (transpiling the example and
 * the runtime there too), which on a busy 2-core machine has taken more than the usual 30 s: it gets 90.
 */
const serve = (example: Example): Promise<Child.Child> => {
  const job: Job = { module: example.module }
  return Child.start("example.ts", job, {}, 90_000)
}

/**
 * Measures one example on its own fresh server, stopped at the end: a viewer's session, a command every 150-450 ms
 * throughout, the camera fed if it reads one; then for each variant (or once) its setup command, a warm-up and a
 * window.
 */
const measure = async (example: Example, config: Config, started: Promise<Child.Child>): Promise<Array<Measured>> => {
  const module = (await import(`../${example.module}`)) as { Config: Schema.Schema<Record<string, number>, any> }
  const declaredFps = example.declared(Schema.decodeUnknownSync(module.Config)({}))
  const child = await started
  const timers: Array<NodeJS.Timeout> = []
  let connection: Client.Connection | undefined
  let running = true
  try {
    const v = await viewer(child.port)
    connection = v.connection
    const ws = connection.ws
    let sent = 0
    if (example.camera !== undefined) {
      const track = v.session.tracks.indexOf(example.camera)
      if (track < 0) throw new Error(`the session lists no track ${example.camera}: ${v.session.tracks.join(", ")}`)
      // The same picture every time, encoded once (the client's `ws` masks a copy): the viewer's cost stays small.
      const message = FrameHeader.encodeInput(track, cameraPicture(cameraWidth, cameraHeight))
      timers.push(setInterval(() => {
        // A camera that cannot send skips a frame rather than queue it, as the browser's page does.
        if (ws.bufferedAmount > 0) return
        ws.send(message)
        sent++
      }, 1000 / cameraFps))
    }

    await v.started(30_000)

    // Commands at random phases of the frame loop; those sent inside a window count for it, even if they end later.
    let current: Timed | undefined
    let commandError: unknown
    const commands = (async () => {
      for (let i = 0; running; i++) {
        await Client.sleep(300 * (0.5 + Math.random()))
        if (!running) return
        const into = current
        try {
          const ms = await v.timed(example.command(i))
          if (ms === undefined) into?.missed.push(i)
          else into?.latencies.push(ms)
        } catch (error) {
          if (running) commandError = error
          return
        }
      }
    })()

    const out: Array<Omit<Measured, "latency" | "commands" | "missed"> & { readonly timed: Timed }> = []
    for (const variant of example.variants ?? [undefined]) {
      if (variant !== undefined) await v.timed(variant.setup)
      await Client.sleep(pick(config, 3000, 500))
      // The session's counts come over HTTP; every other reading is taken synchronously at the window's edges.
      const info0 = await info(child.port, v.session.id)
      const infoAt0 = performance.now()
      const frames0 = v.frames()
      const sent0 = sent
      const cpu0 = Proc.sample(child.pid)
      const threads0 = Proc.threads(child.pid)
      const viewer0 = process.cpuUsage()
      const waiting0 = Proc.waitingSeconds(child.pid)
      const timed: Timed = { latencies: [], missed: [] }
      current = timed
      const t0 = performance.now()
      await Client.sleep(pick(config, 12_000, 800))
      current = undefined
      const seconds = (performance.now() - t0) / 1000
      const delivered = v.frames() - frames0
      const sentInWindow = sent - sent0
      const cpu1 = Proc.sample(child.pid)
      const threads1 = Proc.threads(child.pid)
      const viewer1 = process.cpuUsage(viewer0)
      const waiting1 = Proc.waitingSeconds(child.pid)
      const info1 = await info(child.port, v.session.id)
      const infoSeconds = (performance.now() - infoAt0) / 1000
      const name = variant === undefined ? example.name : `${example.name} ${variant.name}`
      if (commandError !== undefined) throw commandError
      const cpuSeconds = cpu0 !== undefined && cpu1 !== undefined ? cpu1.cpuSeconds - cpu0.cpuSeconds : Number.NaN
      out.push({
        name,
        declaredFps,
        deliveredFps: delivered / seconds,
        cpuMsPerFrame: delivered === 0 ? Number.NaN : (cpuSeconds * 1000) / delivered,
        cpuPercent: cpu0 !== undefined && cpu1 !== undefined ? Proc.cpuPercent(cpu0, cpu1) : Number.NaN,
        threads: Proc.threadPercents(threads0, threads1, seconds),
        timed,
        cameraFps: example.camera === undefined ? undefined : sentInWindow / seconds,
        generatedFps: (info1.frames_generated - info0.frames_generated) / infoSeconds,
        droppedFrames: info1.dropped_frames - info0.dropped_frames,
        droppedInputFrames: info1.dropped_input_frames - info0.dropped_input_frames,
        viewerCpuPercent: ((viewer1.user + viewer1.system) / 1e6 / seconds) * 100,
        waitingMsPerSecond: ((waiting1 - waiting0) * 1000) / seconds,
        load: os.loadavg()[0]!
      })
    }
    // The last commands' frames still count: wait for the one in flight, then close.
    running = false
    await commands
    if (commandError !== undefined) throw commandError
    return out.map(({ timed, ...m }) => ({
      ...m,
      latency: Stats.summarize(timed.latencies),
      commands: timed.latencies.length,
      missed: timed.missed.length
    }))
  } catch (error) {
    const tail = child.stderrTail()
    throw new Error(`${error instanceof Error ? error.message : String(error)}${tail ? `\n${tail}` : ""}`)
  } finally {
    running = false
    for (const timer of timers) clearInterval(timer)
    await connection?.close()
    await child.stop()
  }
}

/** The share of its declared rate an example must deliver. */
const target = 0.95

const rows = (name: string, m: Measured | undefined): Array<Table.Row> => [
  Table.ratioTarget({
    metric: `${name}: frames delivered`,
    unit: "fps",
    runtime: m?.deliveredFps,
    baseline: m?.declaredFps,
    better: "higher"
  }, { atLeast: target }),
  {
    metric: `${name}: server + worker CPU per frame`,
    unit: "ms",
    runtime: m?.cpuMsPerFrame,
    baseline: undefined,
    better: "lower"
  },
  {
    metric: `${name}: command to frame p50`,
    unit: "ms",
    runtime: m?.latency.p50,
    baseline: undefined,
    better: "lower"
  },
  { metric: `${name}: command to frame p99`, unit: "ms", runtime: m?.latency.p99, baseline: undefined, better: "lower" }
]

export const benchmark: Benchmark = {
  name: "examples",
  run: async (config) => {
    const notes: Array<string> = []
    const all: Array<Table.Row> = []
    const measured: Array<Measured> = []
    const only = process.env.BENCH_EXAMPLES?.split(",")
    const selected = examples.filter((e) => only === undefined || only.some((o) => e.name.startsWith(o)))
    // Servers start one at a time, so a starting one (transpiling, loading its worker) never shares the machine
    // with a measurement; except in a smoke run, whose figures mean nothing: there the next one starts meanwhile.
    const servers: Array<Promise<Child.Child>> = []
    const server = (i: number) => {
      if (servers[i] === undefined && i < selected.length) {
        servers[i] = serve(selected[i]!)
        servers[i]!.catch(() => undefined) // a failed start is reported by its measure
      }
      return servers[i]!
    }
    try {
      for (const [i, example] of selected.entries()) {
        config.log(`bench: examples: ${example.name}...`)
        const started = server(i)
        if (config.smoke) void started.then(() => server(i + 1), () => server(i + 1))
        const ms = await attempt(example.name, notes, () => measure(example, config, started))
        const names = example.variants?.map((variant) => `${example.name} ${variant.name}`) ?? [example.name]
        for (const name of names) all.push(...rows(name, ms?.find((m) => m.name === name)))
        measured.push(...(ms ?? []))
      }
    } finally {
      await Promise.allSettled(servers.map((server) => server.then((child) => child.stop())))
    }
    const groups = all.length / rows("", undefined).length
    const met = measured.filter((m) => m.deliveredFps >= target * m.declaredFps).length
    notes.push(
      `${met} of ${groups} delivered at least ${target * 100}% of their declared rate` +
        (met === groups ? "" : " (target NOT met: see the rows marked NO)"),
      "declared: the example's config default `fps`; 03 has none, so its rate is 1000 / (20 default steps x its " +
        "default `stepMs`), the simulated GPU time of a frame; 05's filters are measured one after the other on " +
        "one session (`set_filter`)",
      `the webcam example is fed a fixed ${cameraWidth}x${cameraHeight} RGB picture at ${cameraFps} fps as binary ` +
        `input frames (one is skipped while the socket still holds the previous one); sent: ${
          measured.filter((m) => m.cameraFps !== undefined).map((m) => `${m.name} ${Table.formatNumber(m.cameraFps)}`)
            .join(", ")
        } fps`,
      "commands: one every 150-450 ms; latency = from the send to the arrival of the first frame at or after the " +
        `index its \`commandAck\` names; samples (missed: no ack in 10 s or no frame 5 s after it): ${
          measured.map((m) => `${m.name} ${m.commands} (${m.missed})`).join(", ")
        }`,
      "CPU: the server process over the window (its own thread, the model's worker thread, libuv and GC threads), " +
        "divided by the frames delivered; in % of a core: " +
        measured.map((m) => `${m.name} ${Table.formatNumber(m.cpuPercent)}`).join(", "),
      "the session's own counts over each window (`/sessions/{id}/info`): generated fps, frames dropped for the " +
        "viewer, input frames dropped: " +
        measured.map((m) =>
          `${m.name} ${Table.formatNumber(m.generatedFps)}, ${m.droppedFrames}, ${m.droppedInputFrames}`
        ).join("; "),
      "the viewer's own CPU (this process), in % of a core: " +
        measured.map((m) => `${m.name} ${Table.formatNumber(m.viewerCpuPercent)}`).join(", "),
      "how busy the machine was: the server's threads' time runnable but waiting for a CPU (ms per second of the " +
        "window; near 0 on a quiet machine) and the 1-minute load average: " +
        measured.map((m) => `${m.name} ${Table.formatNumber(m.waitingMsPerSecond)} ms/s, load ${m.load.toFixed(1)}`)
          .join("; "),
      // The busiest one's threads: how its CPU splits between the server and the model's worker.
      ...[...measured].sort((a, b) => b.cpuPercent - a.cpuPercent).slice(0, 1).map((m) =>
        Proc.threadsNote(m.name, m.threads)
      )
    )
    return [{
      name: "examples",
      title: "12. Examples at their defaults: delivered against declared frame rate, as `reactor run` serves them",
      labels: { runtime: "measured", baseline: "declared" },
      columns: {
        runtime: "what one viewer over the WebSocket transport (JPEG) received, and the server process's CPU",
        baseline: "the frame rate the example declares at its default config"
      },
      rows: all,
      notes
    }]
  }
}
