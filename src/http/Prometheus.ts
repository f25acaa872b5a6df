/**
 * `GET /metrics`: the runtime's metrics (`session/Metrics`) in Prometheus' text format. Effect's metric registry is
 * read by `@effect/opentelemetry`'s metric producer into OpenTelemetry's Prometheus exporter (its HTTP server not
 * started: the runtime's own HTTP server answers, behind the same token as every endpoint), and serialized by the
 * exporter's `PrometheusSerializer`. Before each scrape, figures recorded in model hosts are drained into this
 * thread's registry (`Reactor.collectMetrics`) and the process' own figures are sampled.
 */
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { HttpServerResponse } from "@effect/platform"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Context, Effect, Layer } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Metrics from "../session/Metrics.js"
import * as Reactor from "../session/Reactor.js"
import * as HttpError from "./HttpError.js"

/** The scrape: this process' metrics as Prometheus text; `undefined` when metrics are off. */
export interface Service {
  readonly scrape: Effect.Effect<string> | undefined
}

/** The metrics exposition's tag. */
export class Prometheus extends Context.Tag("effect-reactor/http/Prometheus")<Prometheus, Service>() {}

/** The Prometheus text format's content type. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/** Samples the process' figures into their gauges (event-loop lag since the last scrape, heap, RSS, CPU). */
const processSampler = () => {
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  let cpu = process.cpuUsage()
  const sample = () => {
    const sink = Metrics.liveSink
    sink.set(Metrics.defs.processEventLoopLagSeconds, lag.count > 0 ? lag.percentile(99) / 1e9 : 0)
    lag.reset()
    const memory = process.memoryUsage()
    sink.set(Metrics.defs.processHeapBytes, memory.heapUsed)
    sink.set(Metrics.defs.processRssBytes, memory.rss)
    const now = process.cpuUsage()
    sink.add(Metrics.defs.processCpuSeconds, (now.user - cpu.user + now.system - cpu.system) / 1e6)
    cpu = now
  }
  return { sample, stop: () => lag.disable() }
}

/**
 * The exposition, when the settings turn metrics on (`ServerConfig.metrics`): the exporter reads Effect's registry
 * through `@effect/opentelemetry`'s producer for the life of the layer.
 */
export const layer: Layer.Layer<Prometheus, never, ServerConfig.Config | Reactor.Reactor> = Layer.unwrapEffect(
  Effect.map(ServerConfig.Config, (config): Layer.Layer<Prometheus, never, Reactor.Reactor> => {
    if (!config.metrics) return Layer.succeed(Prometheus, { scrape: undefined })
    const exporter = new PrometheusExporter({ preventServerStart: true })
    // No `otel_scope_name` label on every series (there is one scope: Effect's registry); `target_info` stays.
    const serializer = new PrometheusSerializer(undefined, false, undefined, false, true)
    const service = Layer.scoped(
      Prometheus,
      Effect.gen(function*() {
        const reactor = yield* Reactor.Reactor
        const sampler = yield* Effect.acquireRelease(Effect.sync(processSampler), (s) => Effect.sync(s.stop))
        Metrics.register()
        return {
          scrape: Effect.gen(function*() {
            if (reactor.collectMetrics !== undefined) yield* reactor.collectMetrics
            sampler.sample()
            const { resourceMetrics } = yield* Effect.promise(() => exporter.collect())
            return serializer.serialize(resourceMetrics)
          })
        }
      })
    )
    return Layer.provideMerge(
      service,
      OtelMetrics.layer(() => exporter).pipe(
        Layer.provide(Resource.layer({ serviceName: "effect-reactor" }))
      )
    )
  })
)

/** The `GET /metrics` handler: 404 `not_found` when metrics are off. */
export const handler = Effect.gen(function*() {
  const { scrape } = yield* Prometheus
  if (scrape === undefined) {
    return yield* HttpError.make(
      404,
      "not_found",
      "metrics are off on this server (REACTOR_METRICS=false, or server.metrics: false)"
    )
  }
  const text = yield* scrape
  return HttpServerResponse.text(text, { contentType })
})
