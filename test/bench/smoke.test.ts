/**
 * The benchmarks' smoke mode, run as CI runs it: a subprocess that must exit 0 and print every table. Timings are
 * never asserted here (they belong to `npm run bench`); this only keeps the benchmarks working.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const tables = [
  "### 1. Streaming throughput",
  "### 2. Command round trip",
  "### 3. Command to frame",
  "### 4. Pacing",
  "### 5. Scale",
  "### 6. Encoding",
  "### 7. Flood fairness",
  "### 8a. The worker boundary",
  "### 8b. /health while a model's loop spins",
  "### 8c. --workers 2 on 2 cores",
  "### 9. WebRTC",
  "### 9c. WebRTC sender settings",
  "### 9b. WebRTC video codecs at 640x360",
  "### 9b. WebRTC video codecs at 1280x720",
  "### 10. Input frames",
  "### 11. Webcam to model",
  "### 12. Examples at their defaults",
  "### 13a. Python models at 640x360",
  "### 13b. Python models at 1280x720",
  "### 13c. A trained network in Python",
  "### 14a. Example 06 end to end",
  "### 14b. Dynamic batching across sessions",
  "### 14c. The selfie segmentation network alone",
  "### 14d. Example 07 end to end",
  "### 15. The cost of being observed",
  "### 16. Past one machine",
  "### Probe: frames in SharedArrayBuffer slots"
]

const runSmoke = (resultsFile: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", "--smoke"], {
      cwd: root,
      env: { ...process.env, BENCH_RESULTS: resultsFile },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    // a last resort, not a measurement: sixteen tables start ~25 servers and workers, minutes at CI's load
    const timer = setTimeout(() => child.kill("SIGKILL"), 20 * 60_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("benchmarks (smoke mode)", () => {
  it("run in seconds, exit 0, print every table and write the results JSON", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-"))
    const resultsFile = path.join(dir, "results.json")
    try {
      const { code, stderr, stdout } = await runSmoke(resultsFile)
      expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0)
      expect(stdout).toContain("machine: ")
      for (const title of tables) expect(stdout).toContain(title)
      expect(stdout).not.toContain("FAILED")
      const results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as {
        smoke: boolean
        machine: { cores: number; node: string }
        benchmarks: Array<{ name: string; rows: Array<{ metric: string }> }>
      }
      expect(results.smoke).toBe(true)
      expect(results.machine.node).toBe(process.version)
      expect(results.benchmarks.map((b) => b.name)).toEqual([
        "throughput",
        "roundtrip",
        "command-to-frame",
        "pacing",
        "scale",
        "encoding",
        "fairness",
        "isolation-boundary",
        "isolation-health",
        "isolation-workers",
        "webrtc",
        "webrtc-tuning",
        "codecs-640x360",
        "codecs-1280x720",
        "input-latency",
        "webcam",
        "examples",
        "python-640x360",
        "python-1280x720",
        "python-neural",
        "neural-network",
        "neural",
        "neural-batching",
        "neural-upscale",
        "observability",
        "cluster",
        "slots"
      ])
      for (const bench of results.benchmarks) expect(bench.rows.length).toBeGreaterThan(0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 21 * 60_000)
})
