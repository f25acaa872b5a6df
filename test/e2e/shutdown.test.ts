/**
 * Graceful shutdown, in a subprocess: SIGTERM stops accepting, stops every session cooperatively (clients get
 * `sessionEnded` with reason `shutdown` and a 1000 close), releases the model, and exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import WebSocket from "ws"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import { Client } from "./helpers.js"

const startSubprocess = async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/server-main.ts"], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, REACTOR_TOKEN: "" }
  })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), subprocessMs)
    const check = () => {
      const match = /serving model .* on (http:\/\/[^\s"\\]+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on("data", check)
    child.stderr!.on("data", check)
    child.on("exit", () => reject(new Error(`the server exited early:\n${output}`)))
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, url, exited, output: () => output }
}

describe("server: graceful shutdown (subprocess)", { timeout: subprocessTestMs }, () => {
  it("SIGTERM ends every session with sessionEnded(shutdown), releases the model and exits 0", async () => {
    const { child, exited, output, url } = await startSubprocess()
    const started = await (await fetch(`${url}/start_session`, { method: "POST" })).json()
    const client = new Client(
      new WebSocket(url.replace("http", "ws") + started.transports.find((t: any) => t.protocol === "websocket").url)
    )
    await client.next("sessionReady", subprocessMs)
    await client.waitFrames(2, subprocessMs)
    ;(child as ChildProcess).kill("SIGTERM")
    const ended = await client.next("sessionEnded", subprocessMs)
    expect(ended.data).toEqual({ reason: "shutdown", message: "runtime shutdown" })
    expect((await client.closed).code).toBe(1000)
    expect(await exited).toBe(0)
    expect(output()).toContain("session released")
    expect(output()).toContain("released")
    expect(output().indexOf("session released")).toBeLessThan(output().lastIndexOf("released"))
    await expect(fetch(`${url}/health`)).rejects.toThrow()
  })

  it("SIGTERM with an idle RPC client, a WebSocket client and a session with no client open exits 0", async () => {
    const { child, exited, output, url } = await startSubprocess()
    const start = async () =>
      (await (await fetch(`${url}/start_session`, {
        method: "POST",
        body: JSON.stringify({ supported_transports: [{ protocol: "websocket", version: "1" }] })
      })).json()) as any
    const [a, b] = [await start(), await start()]
    const client = new Client(new WebSocket(url.replace("http", "ws") + a.selected_transport.url))
    await client.next("sessionReady")
    const rpc = new WebSocket(`${url.replace("http", "ws")}/sessions/${b.session_id}/transport/rpc`)
    rpc.on("error", () => {})
    await new Promise((resolve) => rpc.on("open", resolve))
    const rpcClosed = new Promise<number>((resolve) => rpc.on("close", (code) => resolve(code)))
    ;(child as ChildProcess).kill("SIGTERM")
    expect((await client.next("sessionEnded", subprocessMs)).data.reason).toBe("shutdown")
    expect(await exited).toBe(0)
    expect(await rpcClosed).toBe(1000)
    expect(output()).toContain("shutting down")
    expect(output()).toMatch(/^released$/m)
  })

  it("SIGINT with no sessions exits 0 after releasing the model", async () => {
    const { child, exited, output } = await startSubprocess()
    child.kill("SIGINT")
    expect(await exited).toBe(0)
    expect(output()).toMatch(/^released$/m)
  })
})
