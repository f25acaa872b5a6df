/**
 * The official SDK's `Reactor` (2.9.0, unchanged) against the server over WebRTC, in Node with `@roamhq/wrtc` as
 * the browser's WebRTC: it connects to `ready`, the video shows what commands set, model messages arrive, a lost
 * peer orphans the session and the SDK's reconnect resumes it, and stopping ends the session with its finalizer run;
 * the same with the model in a worker thread (`reactor run`'s default).
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { subprocessTestMs } from "../fixtures/bounds.js"
import * as Fixture from "../fixtures/web-colors.js"
import { near, Reactor, until, view, type Viewer } from "./NodeSdk.js"

/** Where each region of the fixture's 160x90 frame is sampled (x, y). */
const at = { left: [40, 40], topRight: [120, 20], middleRight: [120, 60] } as const

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const quiet = console.debug
console.debug = () => {} // the SDK logs every step at debug level
afterAll(() => {
  console.debug = quiet
})

interface Connected {
  readonly reactor: InstanceType<typeof Reactor>
  readonly statuses: Array<string>
  readonly messages: Array<any>
  readonly runtime: Array<any>
  viewer: Viewer | undefined
}

const connect = async (server: Server.Handle): Promise<Connected> => {
  const reactor = new Reactor({ modelName: "web-colors", local: true, apiUrl: server.url })
  const connected: Connected = { reactor, statuses: [], messages: [], runtime: [], viewer: undefined }
  reactor.on("statusChanged", (status: string) => connected.statuses.push(status))
  reactor.on("message", (message: unknown) => connected.messages.push(message))
  reactor.on("runtimeMessage", (message: unknown) => connected.runtime.push(message))
  reactor.on("trackReceived", (name: string, track: MediaStreamTrack) => {
    if (name === "main_video") {
      connected.viewer?.stop()
      connected.viewer = view(track)
    }
  })
  await reactor.connect()
  await until("status ready", () => reactor.getStatus() === "ready")
  return connected
}

const info = async (server: Server.Handle, id: string) =>
  (await fetch(`${server.url}/sessions/${id}/info`)).json() as Promise<any>

/**
 * One SDK client through a whole session: ready over WebRTC, commands change the video, a model message, the
 * capabilities, an out-of-range value's error, and `disconnect()` ending the session. Returns the session's id.
 */
const drive = async (server: Server.Handle): Promise<string> => {
  const client = await connect(server)
  const { reactor } = client
  expect(client.statuses).toEqual(["connecting", "waiting", "ready"])
  expect(reactor.getSessionInfo()?.selected_transport?.protocol).toBe("webrtc")
  const sessionId = reactor.getSessionId()!
  await until("video frames", () => (client.viewer?.frames ?? 0) > 5)
  await until(
    "the initial colour",
    () => near(client.viewer!.pixel(...at.left), Fixture.expected(Fixture.initial).left)
  )

  await reactor.sendCommand("set_color", { hue: "blue" })
  await reactor.sendCommand("set_brightness", { level: 1 })
  const blue = Fixture.expected({ ...Fixture.initial, hue: "blue", level: 1 }).left
  await until("the left half blue", () => near(client.viewer!.pixel(...at.left), blue))

  await reactor.sendCommand("reset", {})
  await until("the model's message", () => client.messages.some((m) => m.type === "reset"))
  expect(client.messages.find((m) => m.type === "reset")).toEqual({ type: "reset", data: {} })

  await reactor.sendCommand("requestCapabilities", {}, "runtime")
  await until("modelCapabilities", () => client.runtime.some((m) => m.type === "modelCapabilities"))
  const capabilities = client.runtime.find((m) => m.type === "modelCapabilities")
  expect(capabilities.data.commands.map((c: any) => c.name)).toEqual(
    ["set_color", "set_brightness", "set_invert", "set_label", "set_count", "move", "reset"]
  )

  await reactor.sendCommand("set_brightness", { level: 7 })
  await until("the error for an out-of-range value", () => client.runtime.some((m) => m.type === "error"))
  expect(client.runtime.find((m) => m.type === "error").data).toMatchObject({
    code: "invalid_payload",
    command: "set_brightness"
  })

  // disconnect() awaits its stop_session call, whose answer waits for the stop: the session is over right then
  await reactor.disconnect()
  expect((await info(server, sessionId)).code).toBe("session_not_found")
  return sessionId
}

describe("sdk: @reactor-team/js-sdk 2.9.0 in Node over WebRTC", { timeout: subprocessTestMs }, () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.listen(
      Fixture.model,
      { host: "127.0.0.1", port: 0, maxSessions: 2, graceMs: 2_000 },
      undefined,
      logLevel
    )
  })
  afterAll(() => server.close())

  it("connects to ready; the video shows what the commands set; model messages and capabilities arrive; stop ends it", async () => {
    const sessionId = await drive(server)
    expect(Fixture.ended).toContain(sessionId) // the model's session finalizer ran
  })

  it("a lost peer orphans the session; the SDK's reconnect (PUT sdp_params) resumes it with its state", async () => {
    const client = await connect(server)
    const { reactor } = client
    const sessionId = reactor.getSessionId()!
    await reactor.sendCommand("set_color", { hue: "green" })
    const green = Fixture.expected({ ...Fixture.initial, hue: "green" }).left
    await until("the left half green", () => near(client.viewer?.pixel(...at.left), green))

    await reactor.disconnect(true) // recoverable: the peer goes, the session stays
    await until("the session orphaned", async () => (await info(server, sessionId)).state === "orphaned")

    await reactor.reconnect()
    await until("ready again", () => reactor.getStatus() === "ready")
    expect(reactor.getSessionId()).toBe(sessionId)
    expect((await info(server, sessionId)).state).toBe("running")
    // the model kept its state: still green
    await until("the resumed video", () => near(client.viewer?.pixel(...at.left), green))

    await reactor.disconnect(true)
    await until("the orphan window to end the session", () => Fixture.ended.includes(sessionId))
  })

  it("a second SDK client gets its own session and peer; each one's disconnect() stops its own session", async () => {
    // a long orphan window, so only a stop can end a session within the test
    const busy = await Server.listen(
      Fixture.model,
      { host: "127.0.0.1", port: 0, maxSessions: 2, graceMs: 120_000 },
      undefined,
      logLevel
    )
    try {
      const a = await connect(busy)
      const b = await connect(busy)
      const [idA, idB] = [a.reactor.getSessionId()!, b.reactor.getSessionId()!]
      expect(idA).not.toBe(idB)
      await a.reactor.sendCommand("set_invert", { invert: true })
      const inverted = Fixture.expected({ ...Fixture.initial, invert: true }).left
      await until("a inverted", () => near(a.viewer?.pixel(...at.left), inverted))
      expect(near(b.viewer?.pixel(...at.left), Fixture.expected(Fixture.initial).left)).toBe(true)
      // the SDK's stop_session names no session: with two running, the stop goes to the peer that closes next,
      // which is the disconnecting client's own
      await a.reactor.disconnect()
      await until("a's session stopped", () => Fixture.ended.includes(idA))
      expect(Fixture.ended).not.toContain(idB)
      expect((await info(busy, idB)).state).toBe("running")
      await b.reactor.disconnect()
      expect(Fixture.ended).toContain(idB) // alone again: stopped by the call itself
    } finally {
      await busy.close()
    }
  })
})

describe("sdk: @reactor-team/js-sdk 2.9.0 against a model in a worker thread", { timeout: subprocessTestMs }, () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.listen(
      { _tag: "Worker", module: resolve("test/fixtures/web-colors.ts"), workers: 1 },
      { host: "127.0.0.1", port: 0, maxSessions: 2, graceMs: 2_000 },
      undefined,
      logLevel
    )
  })
  afterAll(() => server.close())

  it("the SDK connects and drives the session as with the model in the server's thread", async () => {
    const health = await (await fetch(`${server.url}/health`)).json() as any
    expect(health).toMatchObject({ status: "ok", model: { name: "web-colors" } })
    const sessionId = await drive(server)
    // the model ran in the worker: this thread's copy of the fixture never saw the session
    expect(Fixture.ended).not.toContain(sessionId)
    // and the worker's model serves the next session too
    await drive(server)
  })
})
