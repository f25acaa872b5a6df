/**
 * 3. Command to frame: from sending a command to receiving the first frame that reflects it. The model keeps the last
 * `set` value as state and writes it into the first pixel of every frame; it runs at 60 fps emitting blocks of 1
 * and of 8 frames, so the wait includes the rest of the block being played out.
 */
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import * as Wire from "./lib/Wire.js"
import type { Generate } from "./servers/Job.js"

const fps = 60

interface Measured {
  readonly latency: Stats.Summary
  readonly missed: number
}

const measure = (side: Target.Side, block: number, config: Config): Promise<Measured> => {
  const job: Generate = { job: "generate", fps, block, width: 64, height: 64, stateful: true }
  const playoutMs = (block * 1000) / fps
  return Target.using(side, job, async (target) => {
    const count = pick(config, block === 1 ? 400 : 150, 8)
    const deadline = performance.now() + pick(config, 60_000, 8_000)
    const connection = await target.open()
    let expected = -1
    let arrived: ((at: number) => void) | undefined
    connection.onFrame = (message, at) => {
      if (expected >= 0 && Wire.firstPixel(message) === expected) {
        expected = -1
        arrived?.(at)
      }
    }
    await Client.sleep(pick(config, 1000, 300))
    const samples: Array<number> = []
    let missed = 0
    for (let i = 1; i <= count && performance.now() < deadline; i++) {
      const at = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 2000)
        arrived = (t) => {
          clearTimeout(timer)
          resolve(t)
        }
      })
      expected = i
      const sent = performance.now()
      connection.send("set", { value: i }, i)
      const t = await at
      if (t === undefined) missed++
      else samples.push(t - sent)
      // A random pause so commands land at every phase of the block schedule.
      await Client.sleep(Math.random() * playoutMs)
    }
    await connection.close()
    return { latency: Stats.summarize(samples), missed }
  })
}

export const benchmark: Benchmark = {
  name: "command-to-frame",
  run: async (config) => {
    const rows: Array<Table.Row> = []
    const notes: Array<string> = []
    for (const block of [1, 8]) {
      const bare = await attempt(`bare, block ${block}`, notes, () => measure("bare", block, config))
      const runtime = await attempt(`runtime, block ${block}`, notes, () => measure("runtime", block, config))
      const playoutMs = (block * 1000) / fps
      const row = (metric: string, f: (s: Stats.Summary) => number): Omit<Table.Row, "target"> => ({
        metric: `block ${block}: ${metric}`,
        unit: "ms",
        runtime: runtime && f(runtime.latency),
        baseline: bare && f(bare.latency),
        better: "lower"
      })
      rows.push(
        row("p50", (s) => s.p50),
        Table.valueTarget(row("p99", (s) => s.p99), {
          atMost: playoutMs + 5,
          text: `<= ${(playoutMs + 5).toFixed(1)} (block playout + 5)`
        }),
        row("max", (s) => s.max),
        {
          metric: `block ${block}: commands without their frame in 2 s`,
          unit: "count",
          runtime: runtime?.missed,
          baseline: bare?.missed,
          better: "lower"
        }
      )
      notes.push(
        `block ${block}: ${
          runtime?.latency.count ?? bare?.latency.count ?? 0
        } commands, each followed by a random pause of 0-${playoutMs.toFixed(1)} ms`
      )
    }
    notes.push(
      `model at ${fps} fps, 64x64 RGB frames, a fresh frame per emit whose first pixel is the last value set; ` +
        "latency = arrival of the first frame showing the value - sending of the command (client clock)"
    )
    return [{
      name: "command-to-frame",
      title: `3. Command to frame (model at ${fps} fps, blocks of 1 and of 8 frames)`,
      columns: {
        runtime: "command -> Mailbox -> handler sets state -> next block emitted -> Pacer -> WebSocket",
        baseline: "ws server with the same generator on setTimeout and a hand-written even-spacing release"
      },
      rows,
      notes
    }]
  }
}
