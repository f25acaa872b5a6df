/**
 * Debian's Prometheus for the metrics tests (`apt-get install -y prometheus`; `PROMETHEUS_PATH` / `PROMTOOL_PATH`
 * point elsewhere): where it is, whether a suite runs (in CI a missing binary is a failure, never a silent skip), and
 * a Prometheus started on loopback with a temp config and data dir (never the system service).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const path = process.env.PROMETHEUS_PATH ?? "/usr/bin/prometheus"
export const promtoolPath = process.env.PROMTOOL_PATH ?? "/usr/bin/promtool"
export const available = existsSync(path) && existsSync(promtoolPath)
/** Whether the Prometheus suites run: the binaries are there, or CI demands them (then `ensure` fails and says why). */
export const run = available || process.env.CI === "true"
export const missing = `${path} or ${promtoolPath} not found (apt-get install -y prometheus)`

/** Fails a suite's setup when CI runs it without Prometheus. */
export const ensure = () => {
  if (!available) throw new Error(`CI=true needs Prometheus for the metrics tests: ${missing}`)
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

/** A Prometheus scraping one target. */
export interface Running {
  readonly url: string
  /** An instant query's result vector (`/api/v1/query`). */
  readonly query: (
    promql: string
  ) => Promise<ReadonlyArray<{ readonly metric: Record<string, string>; readonly value: number }>>
  readonly stop: () => Promise<void>
  readonly output: () => string
}

/** Starts Prometheus on a free loopback port, scraping `target` (`host:port`) every second with the bearer token. */
export const start = async (target: string, token: string | undefined): Promise<Running> => {
  ensure()
  const dir = mkdtempSync(join(tmpdir(), "reactor-prometheus-"))
  const port = await freePort()
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 900ms",
    "scrape_configs:",
    "  - job_name: reactor",
    "    metrics_path: /metrics",
    ...(token !== undefined ? ["    authorization:", `      credentials: ${token}`] : []),
    "    static_configs:",
    `      - targets: ["${target}"]`
  ].join("\n")
  writeFileSync(join(dir, "prometheus.yml"), config + "\n")
  let output = ""
  const child: ChildProcess = spawn(path, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn"
  ], { stdio: ["ignore", "pipe", "pipe"] })
  child.stdout?.on("data", (chunk) => (output += String(chunk)))
  child.stderr?.on("data", (chunk) => (output += String(chunk)))
  // Never left running: a test that times out before its `finally` still ends it when the test process exits.
  const killOnExit = () => child.kill("SIGKILL")
  process.once("exit", killOnExit)
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      process.off("exit", killOnExit)
      resolve()
    })
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (true) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output}`)
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`prometheus did not get ready: ${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    query: async (promql) => {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
      const body = (await response.json()) as {
        status: string
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }
        error?: string
      }
      if (body.status !== "success") throw new Error(`query ${promql}: ${body.error ?? response.status}`)
      return body.data!.result.map((item) => ({ metric: item.metric, value: Number(item.value[1]) }))
    },
    stop: async () => {
      child.kill("SIGTERM")
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
      if (child.exitCode === null) child.kill("SIGKILL")
      rmSync(dir, { recursive: true, force: true })
    },
    output: () => output
  }
}

/** An exposition's samples, read as a test reads `/metrics`: `name{labels}` -> value (comments left out). */
export const samples = (text: string): Map<string, number> => {
  const found = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const cut = line.lastIndexOf(" ")
    found.set(line.slice(0, cut), Number(line.slice(cut + 1)))
  }
  return found
}

/** `promtool check metrics` on an exposition: its exit code and what it printed. */
export const checkMetrics = (text: string) => {
  ensure()
  const result = spawnSync(promtoolPath, ["check", "metrics"], { input: text, encoding: "utf8" })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}
