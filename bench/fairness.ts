/**
 * 7. Flood fairness: one session's frame rate while another client floods the server with valid commands as fast as
 * its socket takes them, as a ratio of the same session's rate just before (target >= 0.8). The flood comes from a
 * separate process, so only the server's event loop is shared. Runtime only: the bare server has no commands to flood.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Client from "./lib/Client.js"
import { attempt, type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Table from "./lib/Table.js"
import * as Target from "./lib/Target.js"
import type { Generate } from "./servers/Job.js"

const job: Generate = { job: "generate", fps: 20, block: 1, width: 64, height: 64, stateful: false, limits: "default" }

interface FloodCounts {
  readonly sent: number
  readonly acked: number
  readonly rateLimited: number
  readonly otherErrors: number
}

interface Measured {
  readonly before: number
  readonly during: number
  readonly after: number
  readonly flood: FloodCounts
  readonly windowMs: number
}

const flood = (url: string, ms: number): Promise<FloodCounts> =>
  new Promise((resolve, reject) => {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "lib", "Flood.ts")
    const child = spawn(process.execPath, ["--import", "tsx", script, url, String(ms)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (err += chunk))
    child.on("exit", (code) => {
      try {
        if (code !== 0) throw new Error(`flood exited ${code}: ${err}`)
        resolve(JSON.parse(out.trim().split("\n").at(-1)!))
      } catch (error) {
        reject(error)
      }
    })
  })

const measure = (config: Config): Promise<Measured> =>
  Target.using("runtime", job, async (target) => {
    const windowMs = pick(config, 8_000, 1_500)
    const victim = await target.open()
    let frames = 0
    victim.onFrame = () => frames++
    const count = async (ms: number) => {
      const start = frames
      const t0 = performance.now()
      await Client.sleep(ms)
      return ((frames - start) * 1000) / (performance.now() - t0)
    }
    await Client.sleep(pick(config, 1_500, 500))
    const before = await count(windowMs)
    // the flooder's own session
    const response = await fetch(`http://127.0.0.1:${target.port}/start_session`, { method: "POST", body: "{}" })
    const { session_id } = (await response.json()) as { session_id: string }
    const flooding = flood(
      `ws://127.0.0.1:${target.port}/sessions/${session_id}/transport/websocket?format=rgb`,
      windowMs + 1_000
    )
    await Client.sleep(500)
    const during = await count(windowMs)
    const counts = await flooding
    const after = await count(pick(config, 3_000, 800))
    await victim.close()
    return { before, during, after, flood: counts, windowMs }
  })

export const benchmark: Benchmark = {
  name: "fairness",
  run: async (config) => {
    const notes: Array<string> = []
    const m = await attempt("runtime", notes, () => measure(config))
    if (m !== undefined) {
      notes.push(
        `flooder in ${
          (m.windowMs / 1000).toFixed(1)
        } s + 1 s: ${m.flood.sent} commands sent, ${m.flood.acked} acked, ` +
          `${m.flood.rateLimited} rate_limited, ${m.flood.otherErrors} other errors`,
        `victim after the flood: ${Table.formatNumber(m.after)} fps`
      )
    }
    notes.push(`model: ${job.fps} fps, blocks of ${job.block}, ${job.width}x${job.height}; both sessions on one server`)
    const table: Table.Table = {
      name: "fairness",
      title: "7. Flood fairness: a session's frame rate while another client floods commands",
      columns: { runtime: "victim's fps during the flood", baseline: "the same victim's fps just before" },
      rows: [
        Table.ratioTarget(
          { metric: "victim frame rate", unit: "fps", runtime: m?.during, baseline: m?.before, better: "higher" },
          { atLeast: 0.8 }
        )
      ],
      notes
    }
    return [table]
  }
}
