/**
 * A model host's tally (`Metrics.tally`) and its replay into the server's metrics: counters and gauges arrive as
 * exact deltas, histograms with exact bucket counts, counts and sums; a drain empties the tally; its size does not
 * grow with traffic.
 */
import { describe, expect, it } from "vitest"
import * as Metrics from "../../src/session/Metrics.js"

/** A sink that keeps what it is given, as plain numbers. */
const capture = () => {
  const added = new Map<string, number>()
  const observed = new Map<string, Array<number>>()
  const key = (def: Metrics.Def, labels: Metrics.Labels = []) =>
    def.name + labels.map(([k, v]) => `{${k}=${v}}`).join("")
  const sink: Metrics.Sink = {
    add: (def, n, labels) => added.set(key(def, labels), (added.get(key(def, labels)) ?? 0) + n),
    set: (def, value, labels) => added.set(key(def, labels), value),
    observe: (def, value, labels) => {
      const list = observed.get(key(def, labels)) ?? []
      list.push(value)
      observed.set(key(def, labels), list)
    }
  }
  return { sink, added, observed }
}

/** Which bucket of `bounds` a value falls in (the last index: above every bound). */
const bucketOf = (bounds: ReadonlyArray<number>, value: number) => {
  let i = 0
  while (i < bounds.length && value > bounds[i]!) i++
  return i
}

describe("Metrics.tally", () => {
  it("replays counters, gauges and histograms into a sink exactly (bucket counts, count and sum)", () => {
    const tally = Metrics.tally()
    const r = tally.recorder
    const lateness = [0, 0.3, 0.7, 1.5, 4, 30, 400]
    for (const ms of lateness) r.frameEmitted(ms)
    r.framesGenerated(4, 12)
    r.commandApplied("set_color", 3)
    r.commandApplied("set_color", 5)
    r.commandRejected("set_color", "invalid_payload")
    r.commandRejected("unknown", "unknown_command")
    r.framesDropped("slow_consumer", 2)
    r.inputReceived()
    r.inputDropped(3)

    const { added, observed, sink } = capture()
    Metrics.replay(tally.drain(), sink)
    expect(added.get("reactor_frames_emitted")).toBe(lateness.length)
    expect(added.get("reactor_frames_generated")).toBe(4)
    expect(added.get("reactor_commands_applied{command=set_color}")).toBe(2)
    expect(added.get("reactor_commands_rejected{command=set_color}{code=invalid_payload}")).toBe(1)
    expect(added.get("reactor_commands_rejected{command=unknown}{code=unknown_command}")).toBe(1)
    expect(added.get("reactor_frames_dropped{reason=slow_consumer}")).toBe(2)
    expect(added.get("reactor_input_frames_received")).toBe(1)
    expect(added.get("reactor_input_frames_dropped")).toBe(3)

    const def = Metrics.defs.frameLatenessSeconds
    const replayed = observed.get(def.name)!
    const original = lateness.map((ms) => ms / 1000)
    expect(replayed).toHaveLength(original.length)
    const sum = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)
    expect(sum(replayed)).toBeCloseTo(sum(original), 12)
    const buckets = (values: ReadonlyArray<number>) =>
      values.map((v) => bucketOf(def.boundaries!, v)).sort((a, b) => a - b)
    expect(buckets(replayed)).toEqual(buckets(original))
    expect(observed.get("reactor_command_apply_seconds")).toHaveLength(2)
  })

  it("empties at each drain, and keeps one entry per series however much is recorded", () => {
    const tally = Metrics.tally()
    for (let i = 0; i < 100_000; i++) tally.recorder.frameEmitted(i % 50)
    const first = tally.drain()
    expect(first.length).toBe(2)
    const histogram = first.find((entry) => entry.name === "reactor_frame_lateness_seconds")!
    expect(histogram.counts!.reduce((a, b) => a + b, 0)).toBe(100_000)
    expect(histogram.counts!.length).toBe(Metrics.defs.frameLatenessSeconds.boundaries!.length + 1)
    expect(tally.drain()).toEqual([])
  })

  it("skips series it does not know (a host of another version)", () => {
    const { added, sink } = capture()
    Metrics.replay([{ name: "reactor_no_such_series", labels: [], value: 5 }], sink)
    expect(added.size).toBe(0)
  })
})
