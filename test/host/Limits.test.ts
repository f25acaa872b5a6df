/**
 * The limits a server puts around a model, from the outside: a worker's heap limit (a model over it ends its
 * sessions `model_failed` with a reason that says so, and is loaded again), and whether a model's own error texts
 * reach clients (`exposeModelErrors`: on for a server bound to loopback by default; off, a client gets an error
 * reference instead of the text).
 */
import { describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { Client, http, sleep } from "../e2e/helpers.js"
import { hostServers } from "./HostServers.js"

// Worker threads start slowly on a loaded machine: these bound a hang, they do not measure anything.
const slow = 120_000
const answer = 30_000

const serve = hostServers()

const open = async (server: Server.Handle) => {
  const started = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  expect(started.status).toBe(200)
  const client = Client.connect(server, started.body.selected_transport.url)
  await client.next("sessionReady", answer)
  return { id: started.body.session_id as string, client }
}

describe("a worker's heap limit", () => {
  it("a model over it ends its session model_failed, saying so; the model is loaded again", async () => {
    const server = await serve("worker", { workerHeapMb: 192 })
    const first = await open(server)
    first.client.command("hog", {})
    // Filling a heap to its limit is GC-bound: at load 20 it took over 30 s here. A bound on a hang, not a measure.
    const ended = await first.client.next("sessionEnded", 3 * answer)
    expect(ended.data.reason).toBe("model_failed")
    expect(ended.data.message).toMatch(/ran out of memory.*192 MB/)
    for (let i = 0; i < 2000 && (await http(server, "GET", "/health")).body.status !== "ok"; i++) await sleep(25)
    const second = await open(server)
    await second.client.waitFrames(2, answer)
  }, 2 * slow)
})

describe.each(["worker", "in-process"] as const)("a model's error texts (%s)", (mode) => {
  it.each([true, false])("reach the client only when exposed (exposeModelErrors: %s)", async (exposed) => {
    const server = await serve(mode, { exposeModelErrors: exposed })
    const { client } = await open(server)
    client.command("leak", { where: "handler" }, "h")
    const failed = await client.next((m) => m.type === "error" && m.data.id === "h", answer)
    expect(failed.data.code).toBe("handler_failed")
    if (exposed) expect(failed.data.message).toBe(`the handler of "leak" failed: secret sauce 42`)
    else {
      expect(failed.data.message).not.toContain("secret")
      expect(failed.data.message).toMatch(/^the handler of "leak" failed \(error ref [0-9a-f]{12}: .*server log\)$/)
    }
    client.command("leak", { where: "loop" })
    const ended = await client.next("sessionEnded", answer)
    expect(ended.data.reason).toBe("model_failed")
    if (exposed) expect(ended.data.message).toBe("model failed: secret loop 42")
    else {
      expect(ended.data.message).not.toContain("secret")
      expect(ended.data.message).toMatch(/error ref [0-9a-f]{12}/)
    }
  }, slow)
})

describe("exposeModelErrors by default", () => {
  it.each(
    [
      ["127.0.0.1", true],
      ["localhost", true],
      ["::1", true],
      ["0.0.0.0", false],
      ["192.168.1.20", false]
    ] as const
  )("bound to %s: %s", async (host, exposed) => {
    const ServerConfigModule = await import("../../src/config/ServerConfig.js")
    expect(ServerConfigModule.make({ host }).exposeModelErrors).toBe(exposed)
    expect(ServerConfigModule.make({ host, exposeModelErrors: !exposed }).exposeModelErrors).toBe(!exposed)
  })
})
