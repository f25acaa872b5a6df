/**
 * 2. Command round trip: commands with ids sent one at a time, each awaited until acked.
 */
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"

export interface Measured {
  readonly latency: Stats.Summary
  readonly perSecond: number
}

/**
 * Both servers are measured in the same loop, one command to each in turn (the order alternating), so whatever
 * disturbs the client (its own GC, the other core's load) falls on both sides alike instead of on whichever side
 * happened to run second.
 */
export const measureBoth = (
  config: Config,
  first: { readonly side: Target.Side; readonly options?: Target.RuntimeOptions } = { side: "bare" },
  second: { readonly side: Target.Side; readonly options?: Target.RuntimeOptions } = {
    side: "runtime",
    options: { isolation: Target.defaultIsolation }
  }
): Promise<{ readonly bare: Measured; readonly runtime: Measured }> =>
  Target.using(
    first.side,
    { job: "echo" },
    (bareTarget) =>
      Target.using(second.side, { job: "echo" }, async (runtimeTarget) => {
        const warmup = pick(config, 1000, 50)
        const count = pick(config, 10_000, 200)
        const deadline = performance.now() + pick(config, 240_000, 20_000)
        interface Side {
          readonly connection: Awaited<ReturnType<typeof bareTarget.open>>
          readonly samples: Array<number>
          busyMs: number
        }
        const sides: readonly [Side, Side] = [
          { connection: await bareTarget.open(), samples: [], busyMs: 0 },
          { connection: await runtimeTarget.open(), samples: [], busyMs: 0 }
        ]
        for (let i = 0; i < warmup && performance.now() < deadline; i++) {
          for (const side of sides) await side.connection.request("set", { value: i & 0xffffff })
        }
        ;(globalThis as { gc?: () => void }).gc?.()
        for (let i = 0; i < count && performance.now() < deadline; i++) {
          const order = i % 2 === 0 ? sides : [sides[1], sides[0]]
          for (const side of order) {
            const sent = performance.now()
            await side.connection.request("set", { value: i & 0xffffff })
            const took = performance.now() - sent
            side.samples.push(took)
            side.busyMs += took
          }
        }
        for (const side of sides) await side.connection.close()
        const result = (side: Side): Measured => ({
          latency: Stats.summarize(side.samples),
          perSecond: side.samples.length / (side.busyMs / 1000)
        })
        return { bare: result(sides[0]), runtime: result(sides[1]) }
      }, second.options),
    first.options
  )

export const benchmark: Benchmark = {
  name: "roundtrip",
  run: async (config) => {
    const notes: Array<string> = []
    const both = await attempt("both sides", notes, () => measureBoth(config))
    const bare = both?.bare
    const runtime = both?.runtime
    notes.push(
      `${runtime?.latency.count ?? bare?.latency.count ?? 0} timed commands after a warm-up; ` +
        "each is `{scope:\"application\", data:{type:\"set\", data:{value}, id}}` awaited until its `commandAck`; " +
        "the two servers are measured in one loop, a command to each in turn, so client-side pauses hit both alike; " +
        "commands/s counts time spent waiting on that side only"
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
