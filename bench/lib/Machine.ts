/**
 * The machine a run happened on: CPU model, cores, memory, Node version, load. Printed first and stored with results,
 * because figures from these shared 2-core machines only compare within one run.
 */
import * as fs from "node:fs"
import * as os from "node:os"

/** What a run's figures depend on. */
export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  readonly platform: string
  readonly loadAverage: ReadonlyArray<number>
  readonly hostname: string
}

const cpuModel = (): string => {
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8")
    const match = /^model name\s*:\s*(.+)$/m.exec(info)
    if (match?.[1] !== undefined) return match[1].trim()
  } catch {
    // not Linux: fall back to os.cpus()
  }
  return os.cpus()[0]?.model ?? "unknown"
}

/** Reads the machine description. */
export const describe = (): Machine => ({
  cpu: cpuModel(),
  cores: os.availableParallelism?.() ?? os.cpus().length,
  memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  hostname: os.hostname()
})

/** One line for the top of the output. */
export const format = (m: Machine): string =>
  `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, load ${
    m.loadAverage.join(" ")
  }`
