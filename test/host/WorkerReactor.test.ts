/**
 * The worker-hosted reactor reads a model's declarations on the server's thread: a model module whose export is a
 * layer piped and provided from `Model.make`'s (not its own layer) still runs in a worker.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { threadId } from "node:worker_threads"
import { afterEach, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { Client, http } from "../e2e/helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

let servers: Array<Server.Handle> = []
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()))
  servers = []
})

describe("worker-hosted reactor", () => {
  it("runs a model layer piped through Layer.tap and provided with Layer.provide", async () => {
    const server = await Server.listen(
      { _tag: "Worker", module: resolve("test/fixtures/piped-model.ts") },
      { host: "127.0.0.1", port: 0 },
      undefined,
      logLevel
    )
    servers.push(server)
    const capabilities = await http(server, "GET", "/capabilities")
    expect(capabilities.body.model.name).toBe("piped-fixture")
    const started = await http(server, "POST", "/start_session", {
      body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    expect(started.status).toBe(200)
    const client = Client.connect(server, started.body.selected_transport.url)
    await client.next("sessionReady")
    client.command("whoami", {})
    const answer = await client.next((m) => m.scope === "application" && m.data.type === "whoami")
    expect(answer.data.tapped).toBe(true)
    expect(answer.data.thread).not.toBe(threadId)
    client.close()
  }, 120_000)
})
