/**
 * What every benchmark server subprocess does besides its job: print where it listens, obey stdin commands
 * (`gc` runs a full collection when started with --expose-gc), and exit when its parent goes away, on SIGTERM, or
 * after a lifetime cap (`BENCH_SERVER_LIFETIME_MS`, default 15 minutes) so no server outlives a run.
 */
import { PerformanceObserver } from "node:perf_hooks"
import type { Listening } from "./Job.js"

/** With `BENCH_GC_STATS=1`, GC pauses are tallied and printed to stderr at exit (see them with `BENCH_VERBOSE=1`). */
const gcStats = () => {
  const kinds = new Map<string, { count: number; totalMs: number; maxMs: number; over10: number }>()
  const names: Record<number, string> = {
    1: "scavenge",
    2: "minor-ms",
    4: "mark-compact",
    8: "incremental",
    16: "weakcb"
  }
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = names[(entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? "other"
      const k = kinds.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0, over10: 0 }
      k.count++
      k.totalMs += entry.duration
      k.maxMs = Math.max(k.maxMs, entry.duration)
      if (entry.duration > 10) k.over10++
      kinds.set(kind, k)
    }
  })
  observer.observe({ entryTypes: ["gc"] })
  process.on("exit", () => {
    for (const [kind, k] of kinds) {
      process.stderr.write(
        `gc ${process.pid} ${kind}: ${k.count}x, total ${k.totalMs.toFixed(0)} ms, max ${
          k.maxMs.toFixed(1)
        } ms, >10 ms: ${k.over10}\n`
      )
    }
  })
}

/** Announces the port on stdout's first line and installs the exits. */
export const ready = (listening: Listening): void => {
  if (process.env.BENCH_GC_STATS === "1") gcStats()
  process.stdout.write(JSON.stringify(listening) + "\n")
  let input = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (chunk: string) => {
    input += chunk
    let newline: number
    while ((newline = input.indexOf("\n")) >= 0) {
      const line = input.slice(0, newline).trim()
      input = input.slice(newline + 1)
      if (line === "gc") (globalThis as { gc?: () => void }).gc?.()
    }
  })
  process.stdin.on("end", () => process.exit(0))
  process.on("SIGTERM", () => process.exit(0))
  setTimeout(() => process.exit(0), Number(process.env.BENCH_SERVER_LIFETIME_MS ?? 15 * 60_000)).unref()
}
