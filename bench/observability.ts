/**
 * 15. The cost of being observed: the same server with metrics and tracing on (the metrics the runtime records by
 * default, spans exported over OTLP to a local sink) against both off (`metrics: false`, no OTLP endpoint), in one
 * run. CPU per frame at full streaming rate, and the command round trip (both servers in one interleaved loop).
 */
import { createServer, type Server } from "node:http"
import { attempt, type Benchmark, type Config } from "./lib/Harness.js"
import * as Stats from "./lib/Stats.js"
import * as Table from "./lib/Table.js"
import type * as Target from "./lib/Target.js"
import { measureBoth } from "./roundtrip.js"
import * as Throughput from "./throughput.js"

/** An OTLP/HTTP sink on loopback: takes every export and counts the spans, as a collector would take them. */
const startSink = () =>
  new Promise<{ readonly server: Server; readonly port: number; readonly spans: () => number }>((resolve) => {
    let spans = 0
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<unknown> }> }>
          }
          for (const resource of body.resourceSpans ?? []) {
            for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0
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
      () => resolve({ server, port: (server.address() as { port: number }).port, spans: () => spans })
    )
  })

/** CPU time per delivered frame, µs: the server's CPU (every thread) over the frames it delivered. */
const cpuPerFrameUs = (m: Throughput.Measured | undefined) =>
  m === undefined ? undefined : (m.serverCpu / 100) * 1e6 / m.fps

const mean = (values: ReadonlyArray<number | undefined>) => {
  const known = values.filter((v): v is number => v !== undefined && !Number.isNaN(v))
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / known.length
}

const measure = async (config: Config): Promise<Table.Table> => {
  const notes: Array<string> = []
  const sink = await startSink()
  try {
    const observed: Target.RuntimeOptions = {
      env: { BENCH_OBSERVED: "1", OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}` }
    }
    const unobserved: Target.RuntimeOptions = { env: { BENCH_OBSERVED: "0", OTEL_EXPORTER_OTLP_ENDPOINT: "" } }
    // Alternated (on, off, off, on in a full run) so that a drift of the machine's load falls on both sides alike.
    const order = config.smoke ? [true, false] : [true, false, false, true]
    const on: Array<Throughput.Measured | undefined> = []
    const off: Array<Throughput.Measured | undefined> = []
    for (const isOn of order) {
      const measured = await attempt(
        `throughput (${isOn ? "observed" : "not observed"})`,
        notes,
        () => Throughput.measure("runtime", config, isOn ? observed : unobserved)
      )
      ;(isOn ? on : off).push(measured)
    }
    const trip = await attempt(
      "round trip",
      notes,
      () => measureBoth(config, { side: "runtime", options: unobserved }, { side: "runtime", options: observed })
    )
    // The same with metrics alone (no OTLP endpoint): what the spans of each command cost, by difference.
    const metricsOnly: Target.RuntimeOptions = { env: { BENCH_OBSERVED: "1", OTEL_EXPORTER_OTLP_ENDPOINT: "" } }
    const tripMetrics = await attempt(
      "round trip, metrics only",
      notes,
      () => measureBoth(config, { side: "runtime", options: unobserved }, { side: "runtime", options: metricsOnly })
    )
    const onCpu = mean(on.map(cpuPerFrameUs))
    const offCpu = mean(off.map(cpuPerFrameUs))
    notes.push(
      `frames: ${Throughput.job.width}x${Throughput.job.height} raw RGB from a model that never sleeps, the client ` +
        `reading as fast as it can; CPU per frame = the server process's CPU (all threads, /proc) / frames ` +
        `delivered, the mean of ${on.length} runs a side, alternated`
    )
    notes.push(
      "observed: metrics recorded (frames, lateness, step time, commands...), spans of sessions and commands " +
        `exported over OTLP/HTTP to a sink on loopback (${sink.spans()} spans received); not observed: ` +
        "`metrics: false`, no OTLP endpoint; nobody scrapes /metrics during the run"
    )
    notes.push(
      "round trip: commands sent one at a time, each awaited until acked, both servers in one loop; each command " +
        "makes 4 spans (command, command.apply, command.decode, command.handler); `metrics only` = metrics on, no " +
        "OTLP endpoint, against the same unobserved server; frames make no spans, so CPU per frame is the metrics' cost"
    )
    const latency = (metric: string, f: (s: Stats.Summary) => number): Table.Row => ({
      metric,
      unit: "ms",
      runtime: trip && f(trip.runtime.latency),
      baseline: trip && f(trip.bare.latency),
      better: "lower"
    })
    return {
      name: "observability",
      title: "15. The cost of being observed: metrics and tracing on against off",
      labels: { runtime: "observed", baseline: "not observed" },
      columns: {
        runtime: "reactor's server, metrics on, spans exported over OTLP",
        baseline: "the same server, metrics off, no tracing"
      },
      rows: [
        {
          metric: "frames/s",
          unit: "1/s",
          runtime: mean(on.map((m) => m?.fps)),
          baseline: mean(off.map((m) => m?.fps)),
          better: "higher"
        },
        Table.ratioTarget(
          { metric: "CPU per frame", unit: "µs", runtime: onCpu, baseline: offCpu, better: "lower" },
          { atMost: 1.05 }
        ),
        Table.ratioTarget(latency("round trip p50", (s) => s.p50), { atMost: 1.05 }),
        Table.ratioTarget({
          metric: "round trip p50, metrics only",
          unit: "ms",
          runtime: tripMetrics?.runtime.latency.p50,
          baseline: tripMetrics?.bare.latency.p50,
          better: "lower"
        }, { atMost: 1.05 }),
        latency("round trip p99", (s) => s.p99),
        latency("round trip mean", (s) => s.mean)
      ],
      notes
    }
  } finally {
    sink.server.close()
  }
}

export const benchmark: Benchmark = {
  name: "observability",
  run: async (config) => [await measure(config)]
}
