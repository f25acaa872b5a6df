/**
 * The WebSocket transport end to end, with a plain `ws` client against the server in-process on port 0: every
 * message type, every error code, ordering, replacement, orphan and resume, idle sockets, maximum duration, slow
 * consumers, oversized and binary input, auth, version headers and origin on the upgrade. (HTTP: http.test.ts.)
 */
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import type * as Server from "../../src/server/Server.js"
import { Client, connect, eventually, http, info, sleep, startServer, startSession } from "./helpers.js"

describe("server: WebSocket transport", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 32, graceMs: 5_000, statsIntervalMs: 200 })
  })
  afterAll(() => server.close())

  const open = async (query = "") => {
    const { client, ready, session } = await connect(server, query)
    return { client, ready, id: session.session_id }
  }

  it("says sessionReady, then streams JPEG frames with the 24-byte header", async () => {
    const { client, id, ready } = await open()
    expect(ready.scope).toBe("runtime")
    expect(ready.data).toEqual({
      session_id: id,
      resumed: false,
      role: "controller",
      format: "jpeg",
      model: { name: "server-fixture", version: "1" }
    })
    await client.waitFrames(3)
    const frame = client.frames.at(-1)!
    expect(frame.header).toMatchObject({ version: 1, codec: "jpeg", track: 0, width: 64, height: 48 })
    expect(frame.header.capturedAt).toBeGreaterThan(Date.now() - 10_000)
    const metadata = await sharp(frame.payload).metadata()
    expect(metadata).toMatchObject({ format: "jpeg", width: 64, height: 48 })
    const indices = client.frames.map((f) => f.header.index)
    expect([...indices].sort((a, b) => a - b)).toEqual(indices)
    await client.close()
  })

  it("streams raw RGB on ?format=rgb and applies commands to the frames", async () => {
    const { client } = await open("?format=rgb")
    client.command("set_color", { r: 200, g: 10, b: 30 }, "c1")
    const ack = await client.next("commandAck")
    expect(ack.data).toMatchObject({ id: "c1", command: "set_color", frame: expect.any(Number) })
    await client.waitFrames(3)
    const frame = client.frames.at(-1)!
    expect(frame.header.codec).toBe("rgb")
    expect(frame.payload.length).toBe(64 * 48 * 3)
    expect([...frame.payload.subarray(0, 3)]).toEqual([200, 10, 30])
    expect(frame.header.index).toBeGreaterThanOrEqual(ack.data.frame)
    await client.close()
  })

  it("refuses a bad format with invalid_request and close 4400", async () => {
    const session = await startSession(server)
    const client = Client.connect(server, session.selected_transport.url + "?format=png")
    expect((await client.error("invalid_request")).data.message).toContain("format")
    expect((await client.closed).code).toBe(4400)
  })

  it("answers every runtime message: ping, requestCapabilities, stats, model messages", async () => {
    const { client } = await open()
    client.runtime("ping")
    expect((await client.next("pong")).scope).toBe("runtime")
    client.runtime("requestCapabilities")
    const caps = await client.next("modelCapabilities")
    expect(caps.data.commands.map((c: any) => c.name)).toEqual(["set_color", "echo", "fail", "sleep", "end"])
    expect(caps.data.commands[0].schema.r).toMatchObject({ type: "integer", minimum: 0, maximum: 255 })
    client.command("echo", { text: "hello" })
    const echoed = await client.next((m) => m.scope === "application")
    expect(echoed).toMatchObject({ scope: "application", type: "echo", data: { type: "echo", text: "hello" } })
    // the first stats after a frame that followed the command (one may leave before that frame does)
    const stats = await client.next((m) => m.type === "stats" && m.data.command_to_frame_ms !== null, 30_000)
    expect(stats.data).toEqual({
      fps: expect.any(Number),
      frames: expect.any(Number),
      dropped: expect.any(Number),
      late: expect.any(Number),
      rate_limited: 0,
      command_to_frame_ms: expect.anything(),
      frames_generated: expect.any(Number)
    })
    await client.close()
  })

  it("accepts bare messages and messages without a scope as application commands", async () => {
    const { client } = await open()
    client.send({ type: "set_color", data: { r: 1 }, id: 1 })
    expect((await client.next("commandAck")).data).toMatchObject({ id: 1, command: "set_color" })
    client.send({ data: { type: "set_color", data: { r: 2 }, id: 2 } })
    expect((await client.next("commandAck")).data).toMatchObject({ id: 2 })
    await client.close()
  })

  it("applies commands in order and acks each with its id", async () => {
    const { client } = await open()
    client.command("sleep", { ms: 50 }, "slow")
    for (let i = 0; i < 40; i++) client.command("set_color", { r: i }, i)
    client.runtime("ping")
    const acks = []
    for (let i = 0; i < 41; i++) acks.push(await client.next("commandAck"))
    expect(acks.map((a) => a.data.id)).toEqual(["slow", ...Array.from({ length: 40 }, (_, i) => i)])
    const frames = acks.map((a) => a.data.frame)
    expect([...frames].sort((a, b) => a - b)).toEqual(frames)
    // the ping is answered too, without waiting for the commands before it (see test/host/StuckHandler.test.ts)
    await client.next("pong")
    await client.close()
  })

  it("rejects each kind of bad message with its specific code, and the socket stays usable", async () => {
    const { client } = await open()
    client.send("{not json")
    expect((await client.error("invalid_json")).data.message).toContain("not valid JSON")
    client.send("[1,2]")
    await client.error("invalid_envelope")
    client.send({ scope: "application", data: { data: {} } })
    expect((await client.error("invalid_envelope")).data.issues[0].path).toBe("data.type")
    client.send({ scope: "bogus", data: { type: "ping" } })
    await client.error("invalid_envelope")
    client.runtime("selfDestruct")
    expect((await client.error("invalid_envelope")).data.known).toEqual([
      "ping",
      "requestCapabilities",
      "stop",
      "fileUploaded",
      "requestClip",
      "requestRecording"
    ])
    client.command("teleport", {}, "t")
    const unknown = await client.error("unknown_command")
    expect(unknown.data).toMatchObject({
      id: "t",
      command: "teleport",
      known: ["set_color", "echo", "fail", "sleep", "end"]
    })
    client.command("set_color", { r: 999, extra: 1 }, "p")
    const invalid = await client.error("invalid_payload")
    expect(invalid.data).toMatchObject({ id: "p", command: "set_color" })
    expect(invalid.data.issues.map((i: any) => i.path).sort()).toEqual(["extra", "r"])
    expect(invalid.data.message).toContain("r:")
    client.command("fail", {}, "f")
    const failed = await client.error("handler_failed")
    expect(failed.data).toMatchObject({
      id: "f",
      command: "fail",
      message: expect.stringContaining("the fixture's fail command")
    })
    client.ws.send(Buffer.from([0x52, 0x46, 1, 2, 3]))
    await client.error("binary_not_accepted")
    client.send(
      JSON.stringify({ scope: "application", data: { type: "echo", data: { text: "x".repeat(300 * 1024) } } })
    )
    const large = await client.error("message_too_large")
    expect(large.data).toMatchObject({ limit: 256 * 1024 })
    client.runtime("ping")
    await client.next("pong")
    client.command("set_color", { r: 5 }, "ok")
    expect((await client.next("commandAck")).data.id).toBe("ok")
    await client.close()
  })

  it("closes a socket that sends more than maxPayload with 1009; the session survives", async () => {
    const { client, id } = await open()
    client.ws.send("x".repeat(1024 * 1024 + 10))
    expect((await client.closed).code).toBe(1009)
    const again = Client.connect(server, `/sessions/${id}/transport/websocket`)
    expect((await again.next("sessionReady")).data.resumed).toBe(true)
    await again.close()
  })

  it("refuses a socket to an unknown session with session_not_found and close 4404", async () => {
    const client = Client.connect(server, "/sessions/does-not-exist/transport/websocket")
    const error = await client.error("session_not_found")
    expect(error.data.session_id).toBe("does-not-exist")
    expect((await client.closed).code).toBe(4404)
  })

  it("checks version headers and origin before the upgrade (426 / 501 / 403), a loopback origin is accepted", async () => {
    const session = await startSession(server)
    const refusal = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(server.wsUrl + session.selected_transport.url, { headers })
        ws.on("open", () => reject(new Error("the upgrade was accepted")))
        ws.on("error", () => {})
        ws.on("unexpected-response", (_request, response) => {
          let body = ""
          response.on("data", (chunk: Buffer) => (body += chunk))
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
        })
      })
    const old = await refusal({ "Reactor-API-Version": "0" })
    expect(old.status).toBe(426)
    expect(JSON.parse(old.body).code).toBe("client_too_old")
    expect((await refusal({ "Reactor-API-Version": "7" })).status).toBe(501)
    const evil = await refusal({ Origin: "https://evil.example" })
    expect(evil.status).toBe(403)
    expect(JSON.parse(evil.body).code).toBe("forbidden_origin")
    const local = Client.connect(server, session.selected_transport.url, { Origin: "http://localhost:3000" })
    await local.next("sessionReady")
    await local.close()
  })

  it("survives malformed upgrade paths", async () => {
    const bad = new WebSocket(server.wsUrl + "/sessions/%E0%A4%A/transport/websocket")
    const status = await new Promise<number>((resolve) => {
      bad.on("error", () => resolve(-1))
      bad.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
    })
    expect(status).toBe(400)
    expect((await http(server, "GET", "/health")).status).toBe(200)
  })

  it("a second socket replaces the first (4409) and resumes", async () => {
    const { client, id } = await open()
    client.command("set_color", { r: 77 }, 1)
    await client.next("commandAck")
    const second = Client.connect(server, `/sessions/${id}/transport/websocket?format=rgb`)
    const ready = await second.next("sessionReady")
    expect(ready.data.resumed).toBe(true)
    expect((await client.closed).code).toBe(4409)
    await second.waitFrames(2)
    expect(second.frames.at(-1)!.payload[0]).toBe(77)
    await second.close()
  })

  it("the rpc transport upgrades on its mount point and takes part in liveness: a WebSocket replaces it", async () => {
    const session = await startSession(server)
    const rpc = new WebSocket(`${server.wsUrl}/sessions/${session.session_id}/transport/rpc`)
    rpc.on("error", () => {})
    const outcome = await new Promise<string>((resolve) => {
      rpc.on("open", () => resolve("open"))
      rpc.on("unexpected-response", (_req, res) => resolve(`http ${res.statusCode}`))
    })
    expect(outcome).toBe("open")
    const closed = new Promise<number>((resolve) => rpc.on("close", (code) => resolve(code)))
    // attached (the session no longer orphaned) before the WebSocket comes
    expect(await eventually(async () => (await info(server, session.session_id)).body.state === "running")).toBe(true)
    const ws = Client.connect(server, session.selected_transport.url)
    expect((await ws.next("sessionReady")).data.resumed).toBe(true)
    expect(await closed).toBe(4409)
    await ws.close()
  })

  it("runtime stop ends the session: sessionEnded, then close 1000", async () => {
    const { client, id } = await open()
    client.runtime("stop")
    const ended = await client.next("sessionEnded")
    expect(ended.data).toEqual({ reason: "stopped", message: "stopped (client)" })
    expect((await client.closed).code).toBe(1000)
    expect((await http(server, "GET", `/sessions/${id}/info`)).status).toBe(404)
  })

  it("a model loop that returns or fails ends the session with model_finished / model_failed", async () => {
    const finished = await open()
    finished.client.command("end", { how: "finish" })
    expect((await finished.client.next("sessionEnded")).data).toEqual({
      reason: "model_finished",
      message: "model finished"
    })
    expect((await finished.client.closed).code).toBe(1000)
    const crashed = await open()
    crashed.client.command("end", { how: "crash" })
    const ended = await crashed.client.next("sessionEnded")
    expect(ended.data).toMatchObject({
      reason: "model_failed",
      message: expect.stringContaining("the fixture crashed on request")
    })
  })

  it("stopping over HTTP ends the socket's session with sessionEnded", async () => {
    const { client, id } = await open()
    await http(server, "POST", "/stop_session", { body: { session_id: id } })
    expect((await client.next("sessionEnded")).data.message).toBe("stopped (api)")
    expect((await client.closed).code).toBe(1000)
  })

  it("garbage on one session's socket does not disturb another session", async () => {
    const a = await open()
    const b = await open()
    for (let i = 0; i < 200; i++) a.client.ws.send(i % 2 === 0 ? Buffer.from([i]) : `}{${i}`)
    await b.client.waitFrames(5)
    b.client.runtime("ping")
    await b.client.next("pong")
    a.client.runtime("ping")
    await a.client.next("pong")
    expect(b.client.texts.some((t) => t.type === "error")).toBe(false)
    await a.client.close()
    await b.client.close()
  })
})

describe("server: liveness, orphans and resume", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 4, graceMs: 700, idleTimeoutMs: 600, statsIntervalMs: 200 })
  })
  afterAll(() => server.close())

  it("a dropped socket orphans the session; reconnecting within the grace window resumes it with its state", async () => {
    const { client, session } = await connect(server, "?format=rgb")
    client.command("set_color", { r: 123, g: 45, b: 6 }, 1)
    await client.next("commandAck")
    client.ws.terminate()
    await client.closed
    expect(await eventually(async () => (await info(server, session.session_id)).body.state === "orphaned")).toBe(true)
    const back = Client.connect(server, session.selected_transport.url + "?format=rgb")
    expect((await back.next("sessionReady")).data.resumed).toBe(true)
    await back.waitFrames(2)
    expect([...back.frames.at(-1)!.payload.subarray(0, 3)]).toEqual([123, 45, 6])
    expect((await http(server, "GET", `/sessions/${session.session_id}/info`)).body.state).toBe("running")
    await back.close()
  })

  it("an orphan is stopped after the grace window", async () => {
    const { client, session } = await connect(server)
    await client.close()
    expect(await eventually(async () => (await info(server, session.session_id)).status === 404)).toBe(true)
    const late = Client.connect(server, session.selected_transport.url)
    await late.error("session_not_found")
    // a session nobody ever connected to is an orphan from the start
    const never = await startSession(server)
    expect(await eventually(async () => (await info(server, never.session_id)).status === 404)).toBe(true)
  })

  it("a silent socket is closed (4408) and its session can be resumed", async () => {
    const { client, session } = await connect(server)
    const closed = await client.closed
    expect(closed.code).toBe(4408)
    const back = Client.connect(server, session.selected_transport.url)
    expect((await back.next("sessionReady")).data.resumed).toBe(true)
    await back.close()
  })

  it("a socket that pings stays connected", async () => {
    // pings 10x as often as the idle timeout: a loaded machine's stalls stay well inside it (the rule itself is
    // checked on the TestClock in test/transport/Connection.test.ts)
    const patient = await startServer({ idleTimeoutMs: 2_000 })
    try {
      const { client } = await connect(patient)
      for (let i = 0; i < 15; i++) {
        await sleep(200)
        client.runtime("ping")
      }
      await client.next("pong")
      expect(client.ws.readyState).toBe(1)
      await client.close()
    } finally {
      await patient.close()
    }
  })

  it("a session is stopped at its maximum duration", async () => {
    const limited = await startServer({ maxDurationMs: 500 })
    try {
      const { client } = await connect(limited)
      const ended = await client.next("sessionEnded", 60_000)
      expect(ended.data).toEqual({ reason: "stopped", message: "stopped (max_duration)" })
      expect((await client.closed).code).toBe(1000)
    } finally {
      await limited.close()
    }
  })
})

describe("server: slow clients", () => {
  it("drops frames for a client that does not read: what is queued stays bounded, drops are reported", async () => {
    const server = await startServer({ statsIntervalMs: 250 }, { width: 640, height: 480, fps: 30, noisy: true })
    try {
      const { client, session } = await connect(server, "?format=rgb")
      client.keepFrames = false
      await client.waitFrames(3)
      const socket = (client.ws as any)._socket
      socket.pause()
      const pausedAt = Date.now()
      const before = process.memoryUsage().rss
      let peak = before
      // paused until the server has skipped 40 frames for it (however long the model takes to make them)
      const skipped = await eventually(
        async () => {
          client.runtime("ping") // writes still flow: the client is alive, it just does not read
          peak = Math.max(peak, process.memoryUsage().rss)
          return (await info(server, session.session_id)).body.stats.dropped_frames > 40
        },
        60_000,
        250
      )
      expect(skipped).toBe(true)
      const resumedAt = Date.now()
      socket.resume()
      const stats = await client.next((m) => m.type === "stats" && m.data.dropped > 30, 60_000)
      expect(stats.data.frames_generated - stats.data.frames).toBeGreaterThan(30)
      await client.waitFrames(3)
      // 3 s of 640x480 RGB at 30 fps is ~90 frames (~83 MB). The frames queued for the paused client are the ones
      // captured during the pause that reached it: a handful (1 MiB send limit + the kernel's socket buffers).
      const queued = client.headers.filter((h) => h.capturedAt > pausedAt + 100 && h.capturedAt < resumedAt).length
      expect(queued).toBeLessThan(20)
      expect(peak - before).toBeLessThan(96 * 1024 * 1024)
      await client.close()
    } finally {
      await server.close()
    }
  })
})

describe("server: WebSocket auth", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ token: "s3cret" })
  })
  afterAll(() => server.close())

  it("WebSocket: refused with unauthorized + 4401 without the token; ?token= and the header work", async () => {
    const auth = { Authorization: "Bearer s3cret" }
    const session = await startSession(server, auth)
    const refused = Client.connect(server, session.selected_transport.url)
    await refused.error("unauthorized")
    expect((await refused.closed).code).toBe(4401)
    const byQuery = Client.connect(server, session.selected_transport.url + "?token=s3cret")
    await byQuery.next("sessionReady")
    await byQuery.close()
    const byHeader = Client.connect(server, session.selected_transport.url, auth)
    expect((await byHeader.next("sessionReady")).data.resumed).toBe(true)
    await byHeader.close()
  })
})
