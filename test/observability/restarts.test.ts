/**
 * Model hosts in `/metrics`: a worker thread that crashes is counted as a restart with its cause, the alive gauge
 * drops while it is gone and is back once it is loaded again, and its load time is observed each time.
 */
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { connect, eventually, http } from "../e2e/helpers.js"
import * as Prometheus from "./Prometheus.js"

describe("model host restarts in /metrics", () => {
  it("counts a crash by cause, and the worker alive again after its reload", async () => {
    const server = await Server.listen(
      { _tag: "Worker", module: resolve("test/fixtures/host-model.ts") },
      { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000 }
    )
    try {
      const scrape = async () => Prometheus.samples((await http(server, "GET", "/metrics")).body as string)
      const before = await scrape()
      expect(before.get("reactor_model_hosts_alive")).toBe(1)
      const loads = before.get("reactor_model_load_seconds_count") ?? 0
      const { client } = await connect(server, "?format=rgb")
      client.command("crash", { how: "throw" })
      expect((await client.next("sessionEnded")).data.reason).toBe("model_failed")
      let after = new Map<string, number>()
      const reloaded = await eventually(
        async () => {
          after = await scrape()
          return after.get("reactor_model_hosts_alive") === 1 &&
            after.get("reactor_model_load_seconds_count") === loads + 1
        },
        120_000,
        200
      )
      expect(reloaded, JSON.stringify([...after].filter(([k]) => k.includes("model")))).toBe(true)
      expect(after.get("reactor_model_host_restarts_total{cause=\"crash\"}")).toBe(
        (before.get("reactor_model_host_restarts_total{cause=\"crash\"}") ?? 0) + 1
      )
      const failed = "reactor_sessions_ended_total{reason=\"model_failed\"}"
      expect(after.get(failed)).toBe((before.get(failed) ?? 0) + 1)
    } finally {
      await server.close()
    }
  }, 240_000)
})
