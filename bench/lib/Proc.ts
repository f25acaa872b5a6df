/**
 * CPU time and resident memory of a process, read from `/proc/<pid>/stat` and `/proc/<pid>/status` (Linux).
 */
import * as fs from "node:fs"
import * as Table from "./Table.js"

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

/**
 * CPU time so far of each thread of a process, by thread name (`/proc/<pid>/task/<tid>/comm`), in seconds. The main
 * thread is `main`; threads that carry the process's own name (Node's worker threads, a model host among them, and
 * V8's helpers all say `node`) are told apart by id (`node#<tid>`); the rest are summed by name (libuv's pool).
 */
export const threads = (pid: number): Map<string, number> => {
  const out = new Map<string, number>()
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
        const name = tid === String(pid) ? "main" : comm === "node" ? `node#${tid}` : comm
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
        out.set(name, (out.get(name) ?? 0) + seconds)
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // the process is gone
  }
  return out
}

/** Per-thread CPU between two `threads` readings over `seconds`, in percent of one core, busiest first. */
export const threadPercents = (
  from: Map<string, number>,
  to: Map<string, number>,
  seconds: number
): Array<readonly [string, number]> =>
  [...to].map(([name, total]) => [name, ((total - (from.get(name) ?? 0)) / seconds) * 100] as const)
    .filter(([, percent]) => percent >= 0.5)
    .sort((a, b) => b[1] - a[1])

/** A note line naming a window's busiest threads (`threadPercents`), at most eight. */
export const threadsNote = (window: string, percents: ReadonlyArray<readonly [string, number]>): string =>
  `server threads over the ${window} window (% of a core): ${
    percents.slice(0, 8).map(([thread, percent]) => `${thread} ${Table.formatNumber(percent)}`).join(", ")
  }`

/**
 * Time the threads of a process have spent runnable but waiting for a CPU so far, in seconds (the second field of
 * `/proc/<pid>/task/<tid>/schedstat`): near 0 on a quiet machine, large when other work holds the cores.
 */
export const waitingSeconds = (pid: number): number => {
  let total = 0
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1]) / 1e9
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    return Number.NaN
  }
  return total
}
