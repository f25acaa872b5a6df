/**
 * The model host from the outside: a server whose model runs in worker threads survives a model that spins
 * synchronously, one that ignores interruption, and one that crashes its thread. Each test checks what a client sees
 * (end reasons, health, answers from other sessions) and that the next session runs on a freshly loaded model.
 */
import { LogLevel } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type * as ServerConfig from "../../src/config/ServerConfig.js"
import * as Server from "../../src/server/Server.js"
import { Client, http, sleep } from "../e2e/helpers.js"
import hostModel from "../fixtures/host-model.js"

const fixture = resolve("test/fixtures/host-model.ts")
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const dir = mkdtempSync(join(tmpdir(), "reactor-host-"))

let servers: Array<Server.Handle> = []
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()))
  servers = []
})

const serve = async (options: ServerConfig.Input = {}, workers = 1) => {
  const server = await Server.listen(
    { _tag: "Worker", module: fixture, workers },
    { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000, ...options },
    undefined,
    logLevel
  )
  servers.push(server)
  return server
}

/** The same model in the server's thread (`--isolation none`). */
const serveInProcess = async (options: ServerConfig.Input = {}) => {
  const server = await Server.listen(
    hostModel,
    { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000, ...options },
    undefined,
    logLevel
  )
  servers.push(server)
  return server
}

let counter = 0
/** Starts a session whose loop beats a file of its own, and connects a socket to it. */
const open = async (server: Server.Handle, extraArgs: Record<string, unknown> = {}) => {
  const heartbeat = join(dir, `beat-${process.pid}-${counter++}`)
  const started = await http(server, "POST", "/start_session", {
    body: { extra_args: { heartbeat, ...extraArgs }, supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  expect(started.status).toBe(200)
  const client = Client.connect(server, started.body.selected_transport.url)
  await client.next("sessionReady")
  return { id: started.body.session_id as string, client, heartbeat }
}

const whoami = async (client: Client) => {
  client.command("whoami", {})
  return (await client.next((m) => m.scope === "application" && m.data.type === "whoami")).data.thread as number
}

const beats = (path: string) => (existsSync(path) ? Number(readFileSync(path, "utf8")) : 0)

/** Waits until the file shows the loop beating. */
const untilBeating = async (path: string) => {
  for (let i = 0; i < 200 && beats(path) === 0; i++) await sleep(25)
  expect(beats(path)).toBeGreaterThan(0)
}

/** The loop is gone: its heartbeat no longer moves. */
const expectStill = async (path: string) => {
  const before = beats(path)
  await sleep(300)
  expect(beats(path)).toBe(before)
}

const untilHealthy = async (server: Server.Handle) => {
  for (let i = 0; i < 400; i++) {
    const health = await http(server, "GET", "/health")
    if (health.body.status === "ok") return
    expect(health.body.status).toBe("loading")
    await sleep(25)
  }
  throw new Error("the model host was not loaded again")
}

describe("model host in a worker thread", () => {
  it.each(["sync", "uninterruptible"] as const)(
    "a loop that ignores stops (%s): health answers, the stop ends it past its deadline, the loop is gone, the next session runs on a fresh model",
    async (how) => {
      const server = await serve()
      const first = await open(server)
      const firstThread = await whoami(first.client)
      first.client.command("spin", { how }, 1)
      await first.client.next("commandAck")
      await untilBeating(first.heartbeat)

      const health = await http(server, "GET", "/health")
      expect(health.status).toBe(200)
      expect(health.body.sessions).toBe(1)

      const stopped = await http(server, "POST", "/stop_session", { body: { session_id: first.id } })
      expect(stopped.status).toBe(200)
      expect(stopped.body.reason).toBe("deadline_exceeded")
      const ended = await first.client.next("sessionEnded")
      expect(ended.data.reason).toBe("deadline_exceeded")
      await expectStill(first.heartbeat)

      // The slot is taken again only by a freshly loaded model, in a new thread.
      await untilHealthy(server)
      const second = await open(server)
      const secondThread = await whoami(second.client)
      expect(secondThread).not.toBe(firstThread)
      await second.client.waitFrames(3)
    }
  )

  it("sessions started at the same time go to different copies (--workers 2)", async () => {
    const server = await serve({ maxSessions: 2 }, 2)
    const [a, b] = await Promise.all([open(server), open(server)])
    expect(await whoami(a.client)).not.toBe(await whoami(b.client))
  })

  it("another session on another copy keeps answering while one model spins", async () => {
    const server = await serve({ maxSessions: 2 }, 2)
    const spinning = await open(server)
    const other = await open(server)
    expect(await whoami(other.client)).not.toBe(await whoami(spinning.client))
    spinning.client.command("spin", { how: "sync" }, 1)
    await spinning.client.next("commandAck")
    await untilBeating(spinning.heartbeat)
    for (let i = 0; i < 5; i++) {
      other.client.runtime("ping")
      await other.client.next("pong")
      other.client.command("whoami", {}, `w${i}`)
      await other.client.next((m) => m.type === "commandAck" && m.data.id === `w${i}`)
    }
    await other.client.waitFrames(3)
    expect((await http(server, "GET", "/health")).status).toBe(200)
  })

  it.each(
    [
      ["throw", /crashed: the model blew up/],
      ["exit", /exited with code 3/]
    ] as const
  )(
    "a crash inside the worker (%s) ends the session with a reason the client sees; the model is loaded again",
    async (how, message) => {
      const server = await serve()
      const first = await open(server)
      const firstThread = await whoami(first.client)
      first.client.command("crash", { how })
      const ended = await first.client.next("sessionEnded")
      expect(ended.data.reason).toBe("model_failed")
      expect(ended.data.message).toMatch(message)

      await untilHealthy(server)
      const second = await open(server)
      expect(await whoami(second.client)).not.toBe(firstThread)
      await second.client.waitFrames(3)
    }
  )

  it.each([
    [true, 10],
    [false, 0]
  ])("frames of 64 KiB and more move to the server without a copy (148x148: %s)", async (big, moved) => {
    const server = await serve()
    const { client } = await open(server, { big })
    await client.waitFrames(25)
    client.command("probe", {})
    const probe = await client.next((m) => m.scope === "application" && m.data.type === "probe")
    expect(probe.data).toEqual({ type: "probe", moved, of: 10 })
    const last = client.frames[client.frames.length - 1]!
    expect([last.header.width, last.header.height]).toEqual(big ? [148, 148] : [16, 16])
  })

  describe.each(["worker", "in-process"] as const)("a frame of 64 KiB emitted again (%s): one rule", (mode) => {
    const start = () => mode === "worker" ? serve() : serveInProcess()

    it("fails the session with a message that says why", async () => {
      const server = await start()
      const { client } = await open(server, { big: true })
      await client.waitFrames(3)
      client.command("reuse", {})
      const ended = await client.next("sessionEnded")
      expect(ended.data.reason).toBe("model_failed")
      expect(ended.data.message).toMatch(/already handed over.*Frame\.clone/)
    })

    it("fails the emit with a FrameError the model can catch, and the session goes on", async () => {
      const server = await start()
      const { client } = await open(server, { big: true })
      await client.waitFrames(3)
      client.command("reuseCaught", {})
      const failed = await client.next((m) => m.scope === "application" && m.data.type === "emitFailed")
      expect(failed.data.message).toMatch(/already handed over.*Frame\.clone/)
      await client.waitFrames(3)
    })
  })

  it("refuses a session beyond max_sessions while the others run, and frees the slot when one ends", async () => {
    const server = await serve({ maxSessions: 1 })
    const first = await open(server)
    const refused = await http(server, "POST", "/start_session", { body: {} })
    expect(refused.status).toBe(503)
    expect(refused.body.code).toBe("too_many_sessions")
    await http(server, "POST", "/stop_session", { body: { session_id: first.id } })
    expect((await first.client.next("sessionEnded")).data.reason).toBe("stopped")
    const second = await open(server)
    await second.client.waitFrames(2)
  })
})
