/**
 * What every benchmark server subprocess does besides its job: print where it listens, obey stdin commands
 * (`gc` runs a full collection when started with --expose-gc), and exit when its parent goes away, on SIGTERM, or
 * after a lifetime cap (`BENCH_SERVER_LIFETIME_MS`, default 15 minutes) so no server outlives a run.
 */
import type { Listening } from "./Job.js"

/** Announces the port on stdout's first line and installs the exits. */
export const ready = (listening: Listening): void => {
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
