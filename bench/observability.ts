/**
 * 15. The cost of being observed, four servers measured in one run: metrics and tracing off (`metrics: false`, no
 * OTLP endpoint), metrics only, metrics + tracing at the default sampler (`OTEL_TRACES_SAMPLER` unset), and metrics +
 * tracing `always_on` (every span kept and exported). CPU per frame at full streaming rate, and the command round
 * trip p50/p99 (the four servers in one interleaved loop), each as a ratio to the server with both off.
 */
import { createServer, type Server } from "node:http"
import * as Sampling from "../src/session/Sampling.js"
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import * as Throughput from "./throughput.js"
/** An OTLP/HTTP sink on loopback: takes every export and counts the spans, and the sessions traced. */
const startSink = () =>
  new Promise<
    { readonly server: Server; readonly port: number; readonly spans: () => number; readonly sessions: () => number }
  >((resolve) => {
    let spans = 0
    const traces = new Set<string>()
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ name?: string; traceId?: string }> }> }>
          }
          for (const resource of body.resourceSpans ?? []) {
            for (const scope of resource.scopeSpans ?? []) {
              for (const span of scope.spans ?? []) {
                spans++
                if (span.name === "command" && span.traceId !== undefined) traces.add(span.traceId)
              }
            }
          }
        } catch {
          // not JSON: counted as nothing
        }
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{}")
      })
    })
    server.listen(
      0,
      "127.0.0.1",
      () =>
        resolve({
          server,
          port: (server.address() as { port: number }).port,
          spans: () => spans,
          sessions: () => traces.size
        })
    )
  })

/** One server configuration of the table. */
interface Setup {
  readonly label: string
  readonly options: Target.RuntimeOptions
}

const mean = (values: ReadonlyArray<number | undefined>) => {
  const known = values.filter((v): v is number => v !== undefined && !Number.isNaN(v))
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / known.length
}

/**
 * The command round trip of several servers in one loop: a command to each in turn (the order rotated every round),
 * each awaited until acked, so a pause of the client or a drift of the machine's load hits every server alike.
 */
const roundTrips = async (
  config: Config,
  setups: ReadonlyArray<Setup>,
  sessions: number
): Promise<Array<Array<number>>> => {
  const targets: Array<Target.Target> = []
  // per server, its sessions: a command goes to each in turn, so a sampler's per-session choice shows in the mix
  const connections: Array<Array<Client.Connection>> = []
  try {
    for (const setup of setups) targets.push(await Target.start("runtime", { job: "echo" }, setup.options))
    for (const target of targets) {
      const own: Array<Client.Connection> = []
      for (let s = 0; s < sessions; s++) own.push(await target.open())
      connections.push(own)
    }
    const warmup = pick(config, 1000, 50)
    const count = pick(config, 6000, 200)
    const deadline = performance.now() + pick(config, 300_000, 20_000)
    const send = (at: number, i: number) => connections[at]![i % sessions]!.request("set", { value: i & 0xffffff })
    for (let i = 0; i < warmup && performance.now() < deadline; i++) {
      for (let at = 0; at < targets.length; at++) await send(at, i)
    }
    const samples: Array<Array<number>> = targets.map(() => [])
    for (let i = 0; i < count && performance.now() < deadline; i++) {
      for (let k = 0; k < targets.length; k++) {
        const at = (i + k) % targets.length
        const sent = performance.now()
        await send(at, i)
        samples[at]!.push(performance.now() - sent)
      }
    }
    for (const own of connections) for (const connection of own) await connection.close()
    return samples
  } catch (error) {
    const tails = targets.map((target) => target.stderrTail()).filter((tail) => tail !== "").join("\n")
    throw new Error(`${error instanceof Error ? error.message : String(error)}${tails ? `\n${tails}` : ""}`)
  } finally {
    for (const target of targets) await target.stop()
  }
}

const measure = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const sinks = [await startSink(), await startSink()] as const
  try {
    const isolation = Target.defaultIsolation
    const setups: ReadonlyArray<Setup> = [
      { label: "off", options: { isolation, env: { BENCH_OBSERVED: "0", OTEL_EXPORTER_OTLP_ENDPOINT: "" } } },
      { label: "metrics only", options: { isolation, env: { BENCH_OBSERVED: "1", OTEL_EXPORTER_OTLP_ENDPOINT: "" } } },
      {
        label: "metrics + tracing (default sampler)",
        options: {
          isolation,
          env: {
            BENCH_OBSERVED: "1",
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinks[0].port}`,
            OTEL_TRACES_SAMPLER: "",
            OTEL_TRACES_SAMPLER_ARG: ""
          }
        }
      },
      {
        label: "metrics + tracing always_on",
        options: {
          isolation,
          env: {
            BENCH_OBSERVED: "1",
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinks[1].port}`,
            OTEL_TRACES_SAMPLER: "always_on",
            OTEL_TRACES_SAMPLER_ARG: ""
          }
        }
      }
    ]
    // CPU per frame: one server at a time, in the order 0 1 2 3 3 2 1 0 (a full run), so that a drift of the
    // machine's load falls on every side alike.
    const order = config.smoke ? [0, 1, 2, 3] : [0, 1, 2, 3, 3, 2, 1, 0]
    const streams: Array<Array<Throughput.Measured | undefined>> = setups.map(() => [])
    for (const at of order) {
      const setup = setups[at]!
      streams[at]!.push(
        await attempt(`throughput (${setup.label})`, notes, () => Throughput.measure("runtime", config, setup.options))
      )
    }
    const sessions = pick(config, 40, 10)
    // The round trip's tail moves by ±10% between runs of identical servers (metrics only against off read 0.95x to
    // 1.10x at p99 in three quiet runs): each server's GC and timers fall on different commands. So the loop runs
    // `repeats` times with fresh servers (and fresh sampler draws: the default sampler keeps ~5% of the sessions) and
    // the samples are pooled.
    const repeats = pick(config, 3, 1)
    const pooled: Array<Array<number>> = setups.map(() => [])
    for (let r = 0; r < repeats; r++) {
      const run = await attempt(`round trip (run ${r + 1})`, notes, () => roundTrips(config, setups, sessions))
      run?.forEach((samples, at) => pooled[at]!.push(...samples))
    }
    const trips = pooled[0]!.length === 0 ? undefined : pooled.map(Stats.summarize)
    const fps = streams.map((runs) => mean(runs.map((m) => m?.fps)))
    const cpu = streams.map((runs) => mean(runs.map((m) => m?.cpuPerFrameUs)))
    const p50 = setups.map((_, at) => trips?.[at]?.p50)
    const p99 = setups.map((_, at) => trips?.[at]?.p99)
    const rows: Array<Table.Row> = []
    // ≤ 5% for what runs by default (metrics, and tracing at the default sampler); always_on is shown, not held to it.
    const held = (at: number) => at === 1 || at === 2
    for (
      const [metric, unit, values, better] of [
        ["CPU per frame", "µs", cpu, "lower"],
        ["round trip p50", "ms", p50, "lower"],
        ["round trip p99", "ms", p99, "lower"],
        ["frames/s", "1/s", fps, "higher"]
      ] as const
    ) {
      for (let at = 1; at < setups.length; at++) {
        const row: Omit<Table.Row, "target"> = {
          metric: `${metric}, ${setups[at]!.label}`,
          unit,
          runtime: values[at],
          baseline: values[0],
          better
        }
        rows.push(held(at) && metric !== "frames/s" ? Table.ratioTarget(row, { atMost: 1.05 }) : row)
      }
    }
    notes.push(
      `frames: ${Throughput.job.width}x${Throughput.job.height} raw RGB from a model that never sleeps (in a ` +
        `${isolation === "worker" ? "worker thread" : "the server's thread"}), the client reading as fast as it ` +
        `can; CPU per frame = the server process's CPU (all threads, /proc) / frames delivered, the mean of ` +
        `${order.length / setups.length} runs a side`
    )
    notes.push(
      `round trip: ${trips?.[0]?.count ?? 0} commands a side pooled over ${repeats} runs of fresh servers, each ` +
        `with ${sessions} sessions (a command to each session in turn), sent one at a time and awaited until ` +
        "acked, the four servers in one loop (order rotated every round); each traced command makes 6 spans (command, the host protocol's RpcClient/RpcServer " +
        "spans, command.apply, command.decode, command.handler)"
    )
    notes.push(
      `default sampler: OTEL_TRACES_SAMPLER unset = ${Sampling.defaultName} at ${Sampling.defaultRatio}; traced ` +
        `sessions (with command spans) in the round trip: default ${sinks[0].sessions()} of ${repeats * sessions}, ` +
        `always_on ${sinks[1].sessions()} of ${
          repeats * sessions
        }; spans received by the OTLP sinks on loopback: default ` +
        `${sinks[0].spans()}, always_on ${sinks[1].spans()}; nobody scrapes /metrics during the run`
    )
    return {
      name: "observability",
      title: "15. The cost of being observed: metrics and tracing against both off",
      labels: { runtime: "observed", baseline: "off" },
      columns: {
        runtime: "reactor's server with what the row names on (metrics; spans exported over OTLP to a local sink)",
        baseline: "the same server in the same run, metrics off, no OTLP endpoint"
      },
      rows,
      notes
    }
  } finally {
    for (const sink of sinks) sink.server.close()
  }
}

export const benchmark: Benchmark = {
  name: "observability",
  run: async (config) => [await measure(config)]
}
