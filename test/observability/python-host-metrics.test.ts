/**
 * A Python model's processes in `/metrics`, in the same series as worker threads: alive once loaded, a process that
 * crashes or is killed past the stop deadline counted as a restart by cause, the gauge back once it is loaded again,
 * and each load's time observed.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as PythonReactor from "../../src/host/python/PythonReactor.js"
import * as Server from "../../src/server/Server.js"
import { Client, eventually, http } from "../e2e/helpers.js"
import * as Prometheus from "./Prometheus.js"

const restarts = (cause: string) => `reactor_model_host_restarts_total{cause="${cause}"}`

let server: Server.Handle
beforeAll(async () => {
  server = await Server.listen(
    { _tag: "Python", module: resolve("test/fixtures/python/seed.py") },
    { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000 },
    undefined,
    LogLevel.None
  )
}, 120_000)
afterAll(() => server?.close())

const scrape = async () => Prometheus.samples((await http(server, "GET", "/metrics")).body as string)

const open = async () => {
  const started = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  expect(started.status).toBe(200)
  const client = Client.connect(server, started.body.selected_transport.url + "?format=rgb")
  await client.next("sessionReady", 20_000)
  return { id: started.body.session_id as string, client }
}

/** Waits until the process is loaded again: alive back to 1 and one more load observed than `before`. */
const reloaded = async (before: Map<string, number>) => {
  let after = new Map<string, number>()
  const back = await eventually(
    async () => {
      after = await scrape()
      return after.get("reactor_model_hosts_alive") === 1 &&
        after.get("reactor_model_load_seconds_count") === (before.get("reactor_model_load_seconds_count") ?? 0) + 1
    },
    120_000,
    200
  )
  expect(back, JSON.stringify([...after].filter(([k]) => k.includes("model_")))).toBe(true)
  return after
}

describe("Python model hosts in /metrics", () => {
  it("names the cause of a lost process", () => {
    expect(PythonReactor.lossCause("it was killed: session s1 did not stop within 1000 ms")).toBe("deadline")
    expect(PythonReactor.lossCause("it exited with code 1:\nRuntimeError: boom")).toBe("crash")
    expect(PythonReactor.lossCause("it died of SIGSEGV")).toBe("crash")
    expect(PythonReactor.lossCause("it exited with code 0")).toBe("exit")
  })

  it("counts the loaded process alive, with its load time", async () => {
    const now = await scrape()
    expect(now.get("reactor_model_hosts_alive")).toBe(1)
    expect(now.get("reactor_model_load_seconds_count")).toBeGreaterThanOrEqual(1)
    expect(now.get("reactor_model_load_seconds_sum")).toBeGreaterThan(0)
  })

  it("counts a crash, then the process alive again after its reload", async () => {
    const before = await scrape()
    const { client } = await open()
    client.command("misbehave", { how: "raise" })
    expect((await client.next("sessionEnded", 30_000)).data.reason).toBe("model_failed")
    const after = await reloaded(before)
    expect(after.get(restarts("crash"))).toBe((before.get(restarts("crash")) ?? 0) + 1)
    expect(after.get(restarts("deadline")) ?? 0).toBe(before.get(restarts("deadline")) ?? 0)
  }, 180_000)

  it("counts a process killed past the stop deadline as a deadline restart", async () => {
    const before = await scrape()
    const { client, id } = await open()
    client.command("misbehave", { how: "hang" }, "h")
    await client.next("commandAck", 20_000)
    const stopped = await http(server, "POST", "/stop_session", { body: { session_id: id } })
    expect(stopped.body.reason).toBe("deadline_exceeded")
    const after = await reloaded(before)
    expect(after.get(restarts("deadline"))).toBe((before.get(restarts("deadline")) ?? 0) + 1)
    expect(after.get(restarts("crash")) ?? 0).toBe(before.get(restarts("crash")) ?? 0)
  }, 180_000)
})
