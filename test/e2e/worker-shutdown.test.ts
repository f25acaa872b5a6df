/**
 * `reactor run` (worker isolation, the default) in a subprocess: SIGTERM while a model spins synchronously still
 * ends the process with exit 0, names the session that did not stop, and runs the finalizers of a model that does
 * stop. The server answers `/health` while the model spins.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import WebSocket from "ws"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import { Client, eventually } from "./helpers.js"

const run = async (model: string) => {
  const child = spawn(process.execPath, [
    "bin/reactor.mjs",
    "run",
    model,
    "--port",
    "0",
    "--max-sessions",
    "2",
    "--workers",
    "2"
  ], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, REACTOR_TOKEN: "", REACTOR_STOP_DEADLINE_MS: "5000" }
  })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /serving model .* on (http:\/\/[^\s"\\]+)/.exec(output)
      if (match !== null) resolve(match[1]!)
    }
    child.stdout!.on("data", check)
    child.stderr!.on("data", check)
    void exited.then(() => reject(new Error(`the server exited early:\n${output}`)))
  })
  return { child, url, exited, output: () => output }
}

const open = async (url: string, extraArgs: Record<string, unknown> = {}) => {
  const started = await (await fetch(`${url}/start_session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ extra_args: extraArgs, supported_transports: [{ protocol: "websocket", version: "1" }] })
  })).json()
  const client = new Client(new WebSocket(url.replace("http", "ws") + started.selected_transport.url))
  await client.next("sessionReady", subprocessMs)
  return { id: started.session_id as string, client }
}

describe("reactor run: shutdown with a frozen model (subprocess)", { timeout: subprocessTestMs }, () => {
  it("SIGTERM while a model spins: exit 0, the frozen session named, the other session stopped cleanly", async () => {
    const heartbeat = join(mkdtempSync(join(tmpdir(), "reactor-sigterm-")), "beat")
    const { child, exited, output, url } = await run("test/fixtures/host-model.ts")
    const frozen = await open(url, { heartbeat })
    const healthy = await open(url)
    frozen.client.command("spin", { how: "sync" }, 1)
    await frozen.client.next("commandAck")
    expect(await eventually(() => existsSync(heartbeat), subprocessMs)).toBe(true)
    expect(Number(readFileSync(heartbeat, "utf8"))).toBeGreaterThan(0)
    expect((await fetch(`${url}/health`)).status).toBe(200)

    child.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(output()).toContain(`session ${frozen.id} did not stop`)
    expect(output()).toContain(`session ${healthy.id} released`)
    expect((await healthy.client.closed).code).toBe(1000)
  })
})
