/**
 * Traces: spans for sessions, commands, model loads and host restarts, exported over OTLP (HTTP, JSON) through
 * `@effect/opentelemetry`'s `NodeSdk` (the OpenTelemetry SDK's tracer provider, batch processor and OTLP exporter)
 * when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and off otherwise:
 * then no span is made on the runtime's hot paths (`enabled` is false). Which traces are kept is the SDK's sampler,
 * chosen by the standard `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (`Sampling.ts`). A model host (worker
 * thread) exports its own spans the same way; `@effect/rpc` carries the span context (and its sampled flag) across the
 * host protocol, so a command's spans in the worker are children of its span on the server, kept or dropped with it.
 * Logs carry the trace and span ids (`withTraceIds`).
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, type Exit, FiberRef, FiberRefs, HashMap, Layer, Logger, Option, Tracer } from "effect"
import * as Sampling from "./Sampling.js"

/** Effect's own tracer (spans kept in memory, exported nowhere): tracing is off while it is the current one. */
const native: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** Whether spans are exported (a tracer other than Effect's native one is installed). */
export const enabled: Effect.Effect<boolean> = Effect.map(Effect.tracer, (tracer) => tracer !== native)

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>

/** Where spans go, from the standard OpenTelemetry variables; `undefined` = tracing off. */
export const endpointFromEnv = (env: Env = process.env): string | undefined => {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  if (traces !== undefined && traces !== "") return traces
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT
  if (base === undefined || base === "") return undefined
  return base.replace(/\/+$/, "") + "/v1/traces"
}

/** Parses `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`). */
const headersFromEnv = (env: Env): Record<string, string> => {
  const raw = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS ?? ""
  const out: Record<string, string> = {}
  for (const pair of raw.split(",")) {
    const at = pair.indexOf("=")
    if (at > 0) out[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return out
}

/**
 * The OTLP exporter as a layer when the environment names an endpoint (`OTEL_SERVICE_NAME` names the service,
 * `effect-reactor` by default; `role` tells the server from a model host), else nothing; nothing either when the
 * sampler is `always_off` (no span would be kept: the tracer is not installed at all). Fails at startup with a
 * `Sampling.InvalidSampler` when `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` are not valid. Spans still waiting
 * are flushed when the layer is released.
 */
export const layerFromEnv = (
  role: "server" | "model-host" = "server",
  env: Env = process.env
): Layer.Layer<never, Sampling.InvalidSampler> => {
  const url = endpointFromEnv(env)
  if (url === undefined) return Layer.empty
  const sampling = Sampling.fromEnv(env)
  if (sampling._tag === "Left") return Layer.fail(sampling.left)
  if (sampling.right.name === "always_off") return Layer.empty
  const parentBased = sampling.right.name.startsWith("parentbased_")
  return Layer.unwrapEffect(
    Effect.map(OtelTracer.make, (tracer) => Layer.setTracer(withUnsampledParents(tracer, parentBased)))
  ).pipe(
    Layer.provide(OtelTracer.layerTracer),
    Layer.provide(
      NodeSdk.layerTracerProvider(
        new BatchSpanProcessor(new OTLPTraceExporter({ url, headers: headersFromEnv(env) }), {
          scheduledDelayMillis: 1000
        }),
        { sampler: sampling.right.sampler }
      )
    ),
    Layer.provide(
      Resource.layerFromEnv(Resource.configToAttributes({
        serviceName: env.OTEL_SERVICE_NAME ?? "effect-reactor",
        attributes: { "reactor.role": role }
      }))
    )
  )
}

/** A span under an unsampled parent with a parent-based sampler: dropped whatever happens, so it does nothing. */
class Unsampled implements Tracer.Span {
  readonly _tag = "Span"
  readonly sampled = false
  readonly spanId: string
  readonly traceId: string
  readonly attributes: ReadonlyMap<string, unknown> = noAttributes
  readonly links: ReadonlyArray<Tracer.SpanLink> = []
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    parentSpan: Tracer.AnySpan,
    readonly context: Context.Context<never>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    // the parent's ids: nothing downstream is exported, and logs inside still name the (unsampled) trace
    this.traceId = parentSpan.traceId
    this.spanId = parentSpan.spanId
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(): void {}
  event(): void {}
  addLinks(): void {}
}

const noAttributes: ReadonlyMap<string, unknown> = new Map()

/**
 * `@effect/opentelemetry`'s tracer without its per-fiber OpenTelemetry context step (see `context` below), and with two
 * changes for unsampled traces:
 * - It is told the sampled flag of a remote parent. `@effect/rpc` hands a request's span context to the worker as an
 *   external span with `sampled`, but the bridge reads a parent's flags only from its `OtelTraceFlags` annotation and
 *   takes it as sampled otherwise, so a command of an unsampled session would be traced in the worker all the same
 *   (test/observability/sampling.test.ts catches it).
 * - With a parent-based sampler (the default), a span whose parent is not sampled is an `Unsampled` span made here,
 *   without the SDK (ids, sampler call, non-recording span): what an unsampled
 *   session's commands cost. Measured (bench 15, 40 sessions, ~15% of them sampled): round trip p50 1.16x with every
 *   unsampled span going through the SDK, against 1.28x with all sampled.
 */
const withUnsampledParents = (tracer: Tracer.Tracer, parentBased: boolean): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      if (parent._tag === "Some" && !parent.value.sampled && options?.root !== true) {
        if (parentBased) return new Unsampled(name, parent, parent.value, context, startTime, kind)
        if (
          parent.value._tag === "ExternalSpan" &&
          Option.isNone(Context.getOption(parent.value.context, OtelTracer.OtelTraceFlags))
        ) {
          const flagged = OtelTracer.makeExternalSpan({
            traceId: parent.value.traceId,
            spanId: parent.value.spanId,
            traceFlags: 0
          })
          return tracer.span(name, Option.some(flagged), context, links, startTime, kind, options)
        }
      }
      return tracer.span(name, parent, context, links, startTime, kind, options)
    },
    // No OpenTelemetry context step: every span the runtime makes names its parent from Effect's own fiber context
    // (the bridge builds the OpenTelemetry parent from it), and nothing in the runtime reads OpenTelemetry's active
    // context. The bridge's step (a context object and `context.with` on every resume of every fiber in a sampled
    // trace) was the largest part of tracing's cost: profiled over 7,000 round trips with always_on, ~1.2 s on each
    // thread against ~0.6 s for making and ending the spans themselves.
    context: (f) => f()
  })

/** The span a fiber runs in, if any. */
const spanOf = (refs: FiberRefs.FiberRefs): Option.Option<Tracer.AnySpan> =>
  Context.getOption(FiberRefs.getOrDefault(refs, FiberRef.currentContext), Tracer.ParentSpan)

/** A logger that adds `trace_id` and `span_id` annotations to every line logged inside a span. */
export const withTraceIds = <O>(logger: Logger.Logger<unknown, O>): Logger.Logger<unknown, O> =>
  Logger.make((options) => {
    const span = spanOf(options.context)
    if (Option.isNone(span)) return logger.log(options)
    return logger.log({
      ...options,
      annotations: HashMap.set(
        HashMap.set(options.annotations, "trace_id", span.value.traceId as unknown),
        "span_id",
        span.value.spanId as unknown
      )
    })
  })

/** How logs are printed: pretty lines, or one JSON object a line (`--log-format json`); model hosts follow it. */
export type LogFormat = "pretty" | "json"

/** The log format of this program, handed to the model hosts it spawns. */
export const logFormat: FiberRef.FiberRef<LogFormat> = FiberRef.unsafeMake<LogFormat>("pretty")

/** The logger of a format, on stderr: JSON objects carry `trace_id`/`span_id` inside a span. */
export const loggerFor = (format: LogFormat, colors = false): Logger.Logger<unknown, void> =>
  format === "json"
    ? withTraceIds(Logger.withConsoleError(Logger.jsonLogger))
    : Logger.prettyLogger({ stderr: true, colors })
