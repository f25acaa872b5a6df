/**
 * What every benchmark file exports, and the run settings they share.
 */
import type * as Table from "./Table.js"

/** Settings of one run. */
export interface Config {
  /** Tiny counts and durations (CI): checks that every benchmark still works, not how fast. */
  readonly smoke: boolean
  /** Progress lines (stderr), so the tables on stdout stay clean. */
  readonly log: (line: string) => void
}

/** A benchmark: `run` measures the runtime and its bare baseline in the same run and returns their tables. */
export interface Benchmark {
  readonly name: string
  readonly run: (config: Config) => Promise<ReadonlyArray<Table.Table>>
}

/** Runs one side's measurement; a failure becomes a note and an empty column instead of ending the run. */
export const attempt = async <A>(
  label: string,
  notes: Array<string>,
  f: () => Promise<A>
): Promise<A | undefined> => {
  try {
    return await f()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    notes.push(`${label} FAILED: ${message.split("\n").slice(0, 3).join(" / ")}`)
    return undefined
  }
}

/** Picks the smoke or the full value. */
export const pick = <A>(config: Config, full: A, smoke: A): A => (config.smoke ? smoke : full)
