/**
 * A command handler that never returns, from the outside: its client's `ping` and `stop` are still answered (the stop
 * within its deadline, by terminating the worker of a handler that spins its thread), a new session is placed on a
 * copy of the model that answers or refused with a specific error (never left hanging), and `/health` tells a copy
 * whose thread does not answer from a healthy one.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { Client, http, sleep } from "../e2e/helpers.js"
import { hostServers } from "./HostServers.js"

const dir = mkdtempSync(join(tmpdir(), "reactor-stuck-"))
// Worker threads start slowly on a loaded machine: these bound a hang, they do not measure anything.
const slow = 120_000
const answer = 30_000

const serve = hostServers()

let counter = 0
const open = async (server: Server.Handle) => {
  const heartbeat = join(dir, `beat-${process.pid}-${counter++}`)
  const started = await http(server, "POST", "/start_session", {
    body: { extra_args: { heartbeat }, supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  expect(started.status).toBe(200)
  const client = Client.connect(server, started.body.selected_transport.url)
  await client.next("sessionReady", answer)
  return { id: started.body.session_id as string, client, heartbeat }
}

const whoami = async (client: Client) => {
  client.command("whoami", {})
  const message = await client.next((m) => m.scope === "application" && m.data.type === "whoami", answer)
  return message.data.thread as number
}

/** Waits until the spinning handler has beaten its file: its thread is taken. */
const untilSpinning = async (path: string) => {
  for (let i = 0; i < 2000 && !existsSync(path); i++) await sleep(25)
  expect(Number(readFileSync(path, "utf8"))).toBeGreaterThan(0)
}

/** Blocks a session's handler; for `sync`, until its thread is seen spinning. */
const block = async (session: Awaited<ReturnType<typeof open>>, how: "sync" | "never") => {
  session.client.command("block", { how }, "stuck")
  if (how === "sync") await untilSpinning(session.heartbeat)
}

const health = async (server: Server.Handle) => (await http(server, "GET", "/health")).body

describe("a command handler that never returns", () => {
  it.each(
    [
      ["worker", "never", "stopped"],
      ["in-process", "never", "stopped"],
      ["worker", "sync", "deadline_exceeded"]
    ] as const
  )("(%s, %s): its client's ping and stop are answered, not queued behind it", async (mode, how, reason) => {
    const server = await serve(mode)
    const session = await open(server)
    await session.client.waitFrames(2, answer)
    await block(session, how)
    session.client.runtime("ping")
    await session.client.next("pong", answer)
    session.client.runtime("stop")
    // the stuck command gets its answer before the session's end
    const stuck = await session.client.next((m) => m.data?.id === "stuck", answer)
    expect(stuck.data.code).toBe("session_closed")
    const ended = await session.client.next("sessionEnded", answer)
    expect(ended.data.reason).toBe(reason)
  }, slow)

  it("a worker whose handler spins its thread is terminated past the stop deadline and loaded again", async () => {
    const server = await serve("worker")
    const first = await open(server)
    const thread = await whoami(first.client)
    await block(first, "sync")
    const stopped = await http(server, "DELETE", `/sessions/${first.id}`)
    expect(stopped.body.reason).toBe("deadline_exceeded")
    for (let i = 0; i < 2000 && (await health(server)).status !== "ok"; i++) await sleep(25)
    const second = await open(server)
    expect(await whoami(second.client)).not.toBe(thread)
  }, slow)

  it("--workers 2: a new session skips the copy whose thread does not answer; /health says which", async () => {
    const server = await serve("worker", { maxSessions: 4 }, 2)
    const stuck = await open(server)
    const other = await open(server)
    const otherThread = await whoami(other.client)
    expect(await whoami(stuck.client)).not.toBe(otherThread)
    await block(stuck, "sync")
    // Both copies run one session: the stuck one's copy would be picked first.
    const next = await open(server)
    expect(await whoami(next.client)).toBe(otherThread)
    await next.client.waitFrames(2, answer)
    const status = await health(server)
    expect(status.status).toBe("degraded")
    expect(status.workers.map((w: { state: string }) => w.state).sort()).toEqual(["ok", "unresponsive"])
  }, slow)

  it("--workers 1: a new session is refused with a specific error while the one copy does not answer", async () => {
    const server = await serve("worker", { maxSessions: 2 }, 1)
    const stuck = await open(server)
    await block(stuck, "sync")
    const refused = await http(server, "POST", "/start_session", { body: {} })
    expect(refused.status).toBe(503)
    expect(refused.body.code).toBe("model_unavailable")
    expect(refused.body.message).toMatch(/no copy of the model is answering/)
    const status = await health(server)
    expect(status.status).toBe("degraded")
    expect(status.workers).toEqual([{ worker: 0, state: "unresponsive", sessions: 1 }])
    // Its stop frees it: the worker is terminated and loaded again, and takes sessions.
    const stopped = await http(server, "DELETE", `/sessions/${stuck.id}`)
    expect(stopped.body.reason).toBe("deadline_exceeded")
    for (let i = 0; i < 2000 && (await health(server)).status !== "ok"; i++) await sleep(25)
    const next = await open(server)
    await next.client.waitFrames(2, answer)
  }, slow)

  it("/health reports every copy ok while they answer", async () => {
    const server = await serve("worker", { maxSessions: 2 }, 2)
    await open(server)
    const status = await health(server)
    expect(status.status).toBe("ok")
    expect(status.workers).toHaveLength(2)
    expect(status.workers.every((w: { state: string }) => w.state === "ok")).toBe(true)
  }, slow)
})
