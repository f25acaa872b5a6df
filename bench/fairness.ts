/**
 * 7. Flood fairness: one session's frame rate while another client floods the server with valid commands as fast as
 * its socket takes them, as a ratio of the same session's rate just before (target >= 0.8). Two floods, one after the
 * other: JSON commands over the WebSocket, then `@effect/rpc` requests over the RPC transport, 1000 to a message (one
 * message carrying many requests must cost its connection as many). The floods come from a separate process, so only
 * the server's event loop is shared. Runtime only: the bare server has no commands to flood.
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
  readonly flood: FloodCounts
  readonly rpcBefore: number
  readonly rpcDuring: number
  readonly rpcFlood: FloodCounts
  readonly after: number
  readonly windowMs: number
}

/** Requests in each message of the RPC flood. */
const requestsPerMessage = 1000

/** A flooding client running in a process of its own: when it started flooding, and what it counted. */
interface Flooding {
  readonly started: Promise<void>
  readonly counts: Promise<FloodCounts>
}

/** Runs a flooding client (`Flood.ts` or `RpcFlood.ts`) for `ms` from when it says `flooding`. */
const flood = (script: "Flood.ts" | "RpcFlood.ts", url: string, ms: number): Flooding => {
  let started!: () => void
  const flooding = new Promise<void>((resolve) => (started = resolve))
  const counts = new Promise<FloodCounts>((resolve, reject) => {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "lib", script)
    const child = spawn(process.execPath, ["--import", "tsx", file, url, String(ms), String(requestsPerMessage)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => {
      err += chunk
      if (err.includes("flooding\n")) started()
    })
    child.on("exit", (code) => {
      started()
      try {
        if (code !== 0) throw new Error(`flood exited ${code}: ${err}`)
        resolve(JSON.parse(out.trim().split("\n").at(-1)!))
      } catch (error) {
        reject(error)
      }
    })
  })
  return { started: flooding, counts }
}

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
    /** The victim's rate just before a flood, and during it (the flooder on a session of its own). */
    const during = async (script: "Flood.ts" | "RpcFlood.ts", transport: string) => {
      await Client.sleep(pick(config, 1_500, 500))
      const before = await count(windowMs)
      const response = await fetch(`http://127.0.0.1:${target.port}/start_session`, { method: "POST", body: "{}" })
      const { session_id } = (await response.json()) as { session_id: string }
      const flooding = flood(
        script,
        `ws://127.0.0.1:${target.port}/sessions/${session_id}/transport/${transport}`,
        windowMs + 1_000
      )
      // the flooder's process takes a while to start on a loaded machine: count once it floods
      await flooding.started
      await Client.sleep(500)
      const rate = await count(windowMs)
      const counts = await flooding.counts
      await fetch(`http://127.0.0.1:${target.port}/sessions/${session_id}`, { method: "DELETE" })
      return { before, rate, counts }
    }
    const ws = await during("Flood.ts", "websocket?format=rgb")
    const rpc = await during("RpcFlood.ts", "rpc")
    const after = await count(pick(config, 3_000, 800))
    await victim.close()
    return {
      before: ws.before,
      during: ws.rate,
      flood: ws.counts,
      rpcBefore: rpc.before,
      rpcDuring: rpc.rate,
      rpcFlood: rpc.counts,
      after,
      windowMs
    }
  })

export const benchmark: Benchmark = {
  name: "fairness",
  run: async (config) => {
    const notes: Array<string> = []
    const m = await attempt("runtime", notes, () => measure(config))
    if (m !== undefined) {
      const counts = (what: string, c: FloodCounts) =>
        `${what} in ${(m.windowMs / 1000).toFixed(1)} s + 1 s: ${c.sent} commands sent, ${c.acked} acked, ` +
        `${c.rateLimited} rate_limited, ${c.otherErrors} other errors`
      notes.push(
        counts("WebSocket flooder", m.flood),
        counts(`RPC flooder (${requestsPerMessage} requests a message)`, m.rpcFlood),
        `victim after the floods: ${Table.formatNumber(m.after)} fps`
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
        ),
        Table.ratioTarget(
          {
            metric: "victim frame rate, RPC flood",
            unit: "fps",
            runtime: m?.rpcDuring,
            baseline: m?.rpcBefore,
            better: "higher"
          },
          { atLeast: 0.8 }
        )
      ],
      notes
    }
    return [table]
  }
}
