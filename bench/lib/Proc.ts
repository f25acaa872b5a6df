/**
 * CPU time and resident memory of a process, read from `/proc/<pid>/stat` and `/proc/<pid>/status` (Linux).
 */
import * as fs from "node:fs"

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux). */
const ticksPerSecond = 100

/** A reading of one process. */
export interface Sample {
  /** User + system CPU time so far, in seconds. */
  readonly cpuSeconds: number
  /** Resident set size, in KiB. */
  readonly rssKiB: number
  /** When it was read (performance.now(), ms). */
  readonly at: number
}

/** Reads a process; undefined when it is gone or /proc is unavailable. */
export const sample = (pid: number): Sample | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may hold spaces: split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const rss = /^VmRSS:\s*(\d+)\s*kB/m.exec(status)
    return {
      cpuSeconds: (utime + stime) / ticksPerSecond,
      rssKiB: rss?.[1] !== undefined ? Number(rss[1]) : Number.NaN,
      at: performance.now()
    }
  } catch {
    return undefined
  }
}

/** CPU use between two readings, in percent of one core (200% = both cores of a 2-core machine). */
export const cpuPercent = (from: Sample, to: Sample): number =>
  ((to.cpuSeconds - from.cpuSeconds) / ((to.at - from.at) / 1000)) * 100
