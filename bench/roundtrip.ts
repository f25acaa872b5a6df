/**
 * 2. Command round trip: commands with ids sent one at a time, each awaited until acked.
 */
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"

interface Measured {
  readonly latency: Stats.Summary
  readonly perSecond: number
}

const measure = (side: Target.Side, config: Config): Promise<Measured> =>
  Target.using(side, { job: "echo" }, async (target) => {
    const warmup = pick(config, 1000, 50)
    const count = pick(config, 10_000, 200)
    const deadline = performance.now() + pick(config, 120_000, 10_000)
    const connection = await target.open()
    for (let i = 0; i < warmup && performance.now() < deadline; i++) {
      await connection.request("set", { value: i & 0xffffff })
    }
    const samples: Array<number> = []
    const t0 = performance.now()
    for (let i = 0; i < count && performance.now() < deadline; i++) {
      const sent = performance.now()
      await connection.request("set", { value: i & 0xffffff })
      samples.push(performance.now() - sent)
    }
    const seconds = (performance.now() - t0) / 1000
    await connection.close()
    return { latency: Stats.summarize(samples), perSecond: samples.length / seconds }
  })

export const benchmark: Benchmark = {
  name: "roundtrip",
  run: async (config) => {
    const notes: Array<string> = []
    const bare = await attempt("bare", notes, () => measure("bare", config))
    const runtime = await attempt("runtime", notes, () => measure("runtime", config))
    notes.push(
      `${runtime?.latency.count ?? bare?.latency.count ?? 0} timed commands after a warm-up; ` +
        "each is `{scope:\"application\", data:{type:\"set\", data:{value}, id}}` awaited until its `commandAck`"
    )
    const row = (metric: string, f: (s: Stats.Summary) => number) => ({
      metric,
      unit: "ms",
      runtime: runtime && f(runtime.latency),
      baseline: bare && f(bare.latency),
      better: "lower" as const
    })
    return [{
      name: "roundtrip",
      title: "2. Command round trip (sequential, each awaited until acked)",
      columns: {
        runtime: "WebSocket transport -> envelope decode -> Mailbox (schema decode, handler) -> commandAck",
        baseline: "ws echo: JSON.parse, JSON.stringify of the ack"
      },
      rows: [
        row("p50", (s) => s.p50),
        Table.ratioTarget(row("p99", (s) => s.p99), { atMost: 1.5 }),
        row("max", (s) => s.max),
        row("mean", (s) => s.mean),
        { metric: "commands/s", unit: "1/s", runtime: runtime?.perSecond, baseline: bare?.perSecond, better: "higher" }
      ],
      notes
    }]
  }
}
