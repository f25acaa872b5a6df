/**
 * What the runtime counts for operators (`GET /metrics`): every series as an Effect `Metric` (exported through
 * `@effect/opentelemetry` in Prometheus' text format), and a `Recorder`, the one interface the session core, the model
 * hosts and the transports record through.
 *
 * Recording is plain synchronous calls (no effect per frame): the live recorder updates Effect metrics through their
 * unsafe API, with label sets cached, so a frame costs a few counter and histogram updates. A model that runs in a
 * worker thread records into a `tally` there (plain numbers, histograms as bucket counts and sums, bounded whatever
 * the traffic), which the server drains over the host protocol and replays into its own metrics (`replay`): one
 * registry, whichever thread a figure was counted in. No series has a per-session label: label values are end
 * reasons, command names the model declares, error codes, transports and drop reasons, all bounded sets.
 */
import { Metric, MetricBoundaries, Schema } from "effect"

/** The kind of a series. */
export type Kind = "counter" | "gauge" | "histogram"

/** One series' definition. Counters are exported with the `_total` suffix (`reactor_frames_emitted_total`). */
export interface Def {
  readonly name: string
  readonly kind: Kind
  readonly description: string
  /** A histogram's bucket upper bounds (seconds, bytes...). */
  readonly boundaries?: ReadonlyArray<number>
}

const counter = (name: string, description: string): Def => ({ name, kind: "counter", description })
const gauge = (name: string, description: string): Def => ({ name, kind: "gauge", description })
const histogram = (name: string, description: string, boundaries: ReadonlyArray<number>): Def => ({
  name,
  kind: "histogram",
  description,
  boundaries
})

/** Every series the runtime exports, by role. */
export const defs = {
  sessionsStarted: counter("reactor_sessions_started", "sessions started"),
  sessionsEnded: counter("reactor_sessions_ended", "sessions ended, by end reason (stopped, model_failed, ...)"),
  sessionsLive: gauge("reactor_sessions_live", "sessions running now"),
  commandsApplied: counter("reactor_commands_applied", "commands applied, by command"),
  commandsRejected: counter("reactor_commands_rejected", "commands rejected, by command and error code"),
  commandsRateLimited: counter("reactor_commands_rate_limited", "commands refused with rate_limited"),
  framesGenerated: counter("reactor_frames_generated", "frames the model emitted"),
  framesEmitted: counter("reactor_frames_emitted", "frames the pacer released to viewers"),
  framesDropped: counter(
    "reactor_frames_dropped",
    "frames a viewer did not get, by reason (slow_consumer, not_reading, too_large, superseded)"
  ),
  inputFramesReceived: counter("reactor_input_frames_received", "input frames (webcam...) taken from clients"),
  inputFramesDropped: counter("reactor_input_frames_dropped", "input frames dropped before the model read them"),
  commandApplySeconds: histogram(
    "reactor_command_apply_seconds",
    "time from a command's arrival in the session to its handler's end",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
  ),
  commandToFrameSeconds: histogram(
    "reactor_command_to_frame_seconds",
    "time from a command's arrival to the release of the first frame generated after it",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
  ),
  frameLatenessSeconds: histogram(
    "reactor_frame_lateness_seconds",
    "how late the pacer released a frame against its due time",
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25]
  ),
  modelStepSeconds: histogram(
    "reactor_model_step_seconds",
    "the model's generation time per frame, measured per emitted block",
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
  ),
  modelHostsAlive: gauge(
    "reactor_model_hosts_alive",
    "model hosts (worker threads or Python processes) loaded and serving"
  ),
  modelHostRestarts: counter(
    "reactor_model_host_restarts",
    "model hosts lost and loaded again, by cause (crash, out_of_memory, deadline, exit)"
  ),
  modelLoadSeconds: histogram(
    "reactor_model_load_seconds",
    "time to start a model host and load the model in it",
    [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
  ),
  connectionsOpened: counter("reactor_connections_opened", "client connections opened, by transport"),
  connectionsLive: gauge("reactor_connections_live", "client connections open now, by transport"),
  webrtcRttSeconds: histogram(
    "reactor_webrtc_rtt_seconds",
    "WebRTC round-trip times, sampled from getStats",
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
  ),
  webrtcBitrateBps: histogram(
    "reactor_webrtc_bitrate_bps",
    "WebRTC outgoing video bitrate, sampled from getStats",
    [100e3, 250e3, 500e3, 1e6, 2e6, 4e6, 8e6]
  ),
  webrtcPacketsLost: counter("reactor_webrtc_packets_lost", "packets the WebRTC viewers reported lost"),
  webrtcFramesEncoded: counter("reactor_webrtc_frames_encoded", "video frames libwebrtc encoded"),
  processEventLoopLagSeconds: gauge(
    "reactor_process_event_loop_lag_seconds",
    "the server thread's event-loop delay, p99 since the previous scrape"
  ),
  processHeapBytes: gauge("reactor_process_heap_bytes", "V8 heap in use on the server thread"),
  processRssBytes: gauge("reactor_process_rss_bytes", "resident set size of the process"),
  processCpuSeconds: counter("reactor_process_cpu_seconds", "CPU time the process used (user + system)")
} as const satisfies Record<string, Def>

/** Label pairs of one series, e.g. `[["reason", "stopped"]]`. */
export type Labels = ReadonlyArray<readonly [string, string]>

/** Where recorded figures go: Effect metrics (`live`) or a worker's tally. */
export interface Sink {
  /** Adds `n` to a counter, or to a gauge (negative to take away). */
  readonly add: (def: Def, n: number, labels?: Labels) => void
  /** Sets a gauge. */
  readonly set: (def: Def, value: number, labels?: Labels) => void
  /** Observes a histogram value. */
  readonly observe: (def: Def, value: number, labels?: Labels) => void
}

/** A bounded label value: the command names a model declares are few, a client's unknown ones are not. */
export type DropReason = "slow_consumer" | "not_reading" | "too_large" | "superseded" | "host_behind"

/** The events the runtime records; each is a few metric updates. */
export interface Recorder {
  readonly sink: Sink
  /** A block of `count` frames emitted, generated in `stepMs` per frame. */
  readonly framesGenerated: (count: number, stepMs: number) => void
  /** A frame released, `latenessMs` after it was due. */
  readonly frameEmitted: (latenessMs: number) => void
  readonly framesDropped: (reason: DropReason, count: number) => void
  readonly inputReceived: () => void
  readonly inputDropped: (count: number) => void
  /** A command applied, `ms` after it arrived; `command` is a declared command's name. */
  readonly commandApplied: (command: string, ms: number) => void
  /** A command rejected; `command` is a declared name or `unknown`. */
  readonly commandRejected: (command: string, code: string) => void
  readonly commandToFrame: (ms: number) => void
  readonly rateLimited: () => void
  readonly sessionStarted: () => void
  /** A session ended; `reason` is the end reason's wire code. */
  readonly sessionEnded: (reason: string) => void
  readonly connectionOpened: (transport: string) => void
  readonly connectionClosed: (transport: string) => void
  readonly hostLoaded: (ms: number) => void
  readonly hostLost: (cause: string) => void
}

const none: Labels = []

/** A recorder over a sink. */
export const recorder = (sink: Sink): Recorder => {
  const cached = new Map<string, Labels>()
  const label = (key: string, value: string): Labels => {
    const id = key + "\u0000" + value
    let labels = cached.get(id)
    if (labels === undefined) {
      labels = [[key, value]]
      cached.set(id, labels)
    }
    return labels
  }
  const pair = (k1: string, v1: string, k2: string, v2: string): Labels => {
    const id = k1 + "\u0000" + v1 + "\u0000" + k2 + "\u0000" + v2
    let labels = cached.get(id)
    if (labels === undefined) {
      labels = [[k1, v1], [k2, v2]]
      cached.set(id, labels)
    }
    return labels
  }
  return {
    sink,
    framesGenerated: (count, stepMs) => {
      sink.add(defs.framesGenerated, count, none)
      sink.observe(defs.modelStepSeconds, stepMs / 1000, none)
    },
    frameEmitted: (latenessMs) => {
      sink.add(defs.framesEmitted, 1, none)
      sink.observe(defs.frameLatenessSeconds, latenessMs > 0 ? latenessMs / 1000 : 0, none)
    },
    framesDropped: (reason, count) => sink.add(defs.framesDropped, count, label("reason", reason)),
    inputReceived: () => sink.add(defs.inputFramesReceived, 1, none),
    inputDropped: (count) => sink.add(defs.inputFramesDropped, count, none),
    commandApplied: (command, ms) => {
      sink.add(defs.commandsApplied, 1, label("command", command))
      sink.observe(defs.commandApplySeconds, ms / 1000, none)
    },
    commandRejected: (command, code) => sink.add(defs.commandsRejected, 1, pair("command", command, "code", code)),
    commandToFrame: (ms) => sink.observe(defs.commandToFrameSeconds, ms / 1000, none),
    rateLimited: () => sink.add(defs.commandsRateLimited, 1, none),
    sessionStarted: () => {
      sink.add(defs.sessionsStarted, 1, none)
      sink.add(defs.sessionsLive, 1, none)
    },
    sessionEnded: (reason) => {
      sink.add(defs.sessionsEnded, 1, label("reason", reason))
      sink.add(defs.sessionsLive, -1, none)
    },
    connectionOpened: (transport) => {
      sink.add(defs.connectionsOpened, 1, label("transport", transport))
      sink.add(defs.connectionsLive, 1, label("transport", transport))
    },
    connectionClosed: (transport) => sink.add(defs.connectionsLive, -1, label("transport", transport)),
    hostLoaded: (ms) => {
      sink.add(defs.modelHostsAlive, 1, none)
      sink.observe(defs.modelLoadSeconds, ms / 1000, none)
    },
    hostLost: (cause) => {
      sink.add(defs.modelHostsAlive, -1, none)
      sink.add(defs.modelHostRestarts, 1, label("cause", cause))
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Effect metrics

type AnyMetric = Metric.Metric<unknown, number, unknown>

const baseMetric = (def: Def): AnyMetric => {
  switch (def.kind) {
    case "counter":
      return Metric.counter(def.name, { description: def.description, incremental: true }) as AnyMetric
    case "gauge":
      return Metric.gauge(def.name, { description: def.description }) as AnyMetric
    case "histogram":
      return Metric.histogram(
        def.name,
        MetricBoundaries.fromIterable(def.boundaries ?? []),
        def.description
      ) as AnyMetric
  }
}

/**
 * The Effect metric of each (definition, label set): label sets are cached arrays, so this is one map lookup. Each
 * definition's metric is made once and tagged from there: two histograms made alike are not the same series to
 * Effect's registry (their boundaries compare by reference), so one made twice would be exported twice.
 */
const metrics = new Map<Def, Map<Labels, AnyMetric>>()
const bases = new Map<Def, AnyMetric>()
const metricOf = (def: Def, labels: Labels): AnyMetric => {
  let byLabels = metrics.get(def)
  if (byLabels === undefined) {
    byLabels = new Map()
    metrics.set(def, byLabels)
  }
  let metric = byLabels.get(labels)
  if (metric === undefined) {
    metric = bases.get(def)
    if (metric === undefined) {
      metric = baseMetric(def)
      bases.set(def, metric)
    }
    for (const [key, value] of labels) metric = Metric.tagged(metric, key, value) as AnyMetric
    byLabels.set(labels, metric)
  }
  return metric
}

/** Registers every unlabelled series, so a fresh server exports them at zero rather than not at all. */
export const register = (): void => {
  for (const def of Object.values(defs)) {
    if (def.kind === "histogram" || !labelled.has(def)) metricOf(def, none).register()
  }
}
const labelled = new Set<Def>([
  defs.sessionsEnded,
  defs.commandsApplied,
  defs.commandsRejected,
  defs.framesDropped,
  defs.modelHostRestarts,
  defs.connectionsOpened,
  defs.connectionsLive
])

const noTags: ReadonlyArray<never> = []

/** The sink into this thread's Effect metrics (the global registry `GET /metrics` exports). */
export const liveSink: Sink = {
  add: (def, n, labels = none) => {
    const metric = metricOf(def, labels)
    if (def.kind === "gauge") metric.unsafeModify(n, noTags)
    else metric.unsafeUpdate(n, noTags)
  },
  set: (def, value, labels = none) => metricOf(def, labels).unsafeUpdate(value, noTags),
  observe: (def, value, labels = none) => metricOf(def, labels).unsafeUpdate(value, noTags)
}

/** Records into this thread's Effect metrics. */
export const live: Recorder = recorder(liveSink)

const noop = () => {}

/** Records nothing (metrics off). */
export const off: Recorder = {
  ...recorder({ add: noop, set: noop, observe: noop }),
  framesGenerated: noop,
  frameEmitted: noop,
  framesDropped: noop,
  commandApplied: noop,
  commandToFrame: noop
}

/** The recorder a server's settings ask for. */
export const forFlag = (enabled: boolean): Recorder => (enabled ? live : off)

// ---------------------------------------------------------------------------------------------------------------
// A worker's tally, drained by the server

/** One tallied series: a counter or gauge delta, or a histogram's bucket counts and sums since the last drain. */
export const TallyEntry = Schema.Struct({
  name: Schema.String,
  labels: Schema.Array(Schema.Tuple(Schema.String, Schema.String)),
  value: Schema.Number,
  /** Histograms: observations per bucket (one more than the bounds: the last is above every bound). */
  counts: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true }),
  /** Histograms: the sum of the observations per bucket. */
  sums: Schema.optionalWith(Schema.Array(Schema.Number), { exact: true })
})
export type TallyEntry = typeof TallyEntry.Type

/** What a tally hands over at a drain. */
export const Drained = Schema.Array(TallyEntry)
export type Drained = typeof Drained.Type

interface Tallied {
  readonly def: Def
  readonly labels: Labels
  value: number
  counts: Array<number> | undefined
  sums: Array<number> | undefined
}

/** A tally: a sink of plain numbers, and its drain (what was recorded since the last drain). */
export interface Tally {
  readonly recorder: Recorder
  readonly drain: () => Drained
}

/** A tally for a thread whose figures reach the server's registry by drains (a model host). */
export const tally = (): Tally => {
  const entries = new Map<Def, Map<Labels, Tallied>>()
  const entry = (def: Def, labels: Labels): Tallied => {
    let byLabels = entries.get(def)
    if (byLabels === undefined) {
      byLabels = new Map()
      entries.set(def, byLabels)
    }
    let found = byLabels.get(labels)
    if (found === undefined) {
      found = { def, labels, value: 0, counts: undefined, sums: undefined }
      byLabels.set(labels, found)
    }
    return found
  }
  const sink: Sink = {
    add: (def, n, labels = none) => {
      entry(def, labels).value += n
    },
    set: (def, value, labels = none) => {
      entry(def, labels).value = value
    },
    observe: (def, value, labels = none) => {
      const found = entry(def, labels)
      const bounds = def.boundaries ?? []
      if (found.counts === undefined) {
        found.counts = new Array(bounds.length + 1).fill(0)
        found.sums = new Array(bounds.length + 1).fill(0)
      }
      let i = 0
      while (i < bounds.length && value > bounds[i]!) i++
      found.counts[i]!++
      found.sums![i]! += value
    }
  }
  return {
    recorder: recorder(sink),
    drain: () => {
      const out: Array<TallyEntry> = []
      for (const byLabels of entries.values()) {
        for (const found of byLabels.values()) {
          if (found.counts !== undefined) {
            if (found.counts.some((n) => n > 0)) {
              out.push({
                name: found.def.name,
                labels: found.labels.map(([k, v]) => [k, v] as const),
                value: 0,
                counts: found.counts,
                sums: found.sums!
              })
            }
            found.counts = undefined
            found.sums = undefined
          } else if (found.value !== 0) {
            out.push({
              name: found.def.name,
              labels: found.labels.map(([k, v]) => [k, v] as const),
              value: found.value
            })
            found.value = 0
          }
        }
      }
      return out
    }
  }
}

const byName = new Map<string, Def>(Object.values(defs).map((def) => [def.name, def]))
const replayLabels = new Map<string, Labels>()

/**
 * Replays a drained tally into a sink (the server's live one): counter and gauge deltas are added; a histogram's
 * bucket gets its count of observations at the bucket's mean, so bucket counts, count and sum come out exact.
 * Unknown series (a worker of another version) are skipped.
 */
export const replay = (drained: Drained, sink: Sink = liveSink): void => {
  for (const item of drained) {
    const def = byName.get(item.name)
    if (def === undefined) continue
    const id = item.name + "\u0000" + item.labels.map(([k, v]) => `${k}=${v}`).join("\u0000")
    let labels = replayLabels.get(id)
    if (labels === undefined) {
      labels = item.labels.map(([k, v]) => [k, v] as const)
      replayLabels.set(id, labels)
    }
    if (item.counts !== undefined && item.sums !== undefined) {
      for (let i = 0; i < item.counts.length; i++) {
        const n = item.counts[i]!
        if (n <= 0) continue
        const mean = item.sums[i]! / n
        for (let j = 0; j < n; j++) sink.observe(def, mean, labels)
      }
    } else {
      sink.add(def, item.value, labels)
    }
  }
}
