/**
 * Regression tests for the faults an adversarial tester found (issue 8), each from the outside: request bodies over
 * the limit, deep nesting, floods, frozen clients, RPC requests left behind, drop accounting, oversized error
 * replies, odd ids, a busy port, long session ids. (SIGTERM with clients open: shutdown.test.ts.)
 */
import { RpcSerialization } from "@effect/rpc"
import { Effect, Fiber } from "effect"
import { createServer } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { ReactorClient } from "../../src/client/index.js"
import type * as Server from "../../src/server/Server.js"
import { Commands } from "../fixtures/server-model.js"
import { Client, connect, eventually, http, startServer, startSession } from "./helpers.js"

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

describe("faults: HTTP", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 4, maxBodyBytes: 16 * 1024 })
  })
  afterAll(() => server.close())

  it("refuses a body over the limit with 413 body_too_large, with or without a Content-Length", async () => {
    const big = JSON.stringify({ extra_args: { blob: "x".repeat(100 * 1024) } })
    const declared = await http(server, "POST", "/start_session", { body: big })
    expect(declared.status).toBe(413)
    expect(declared.body).toMatchObject({ code: "body_too_large", limit: 16 * 1024 })
    // chunked: no Content-Length, the limit applies while reading (the server may reset the upload it refused)
    const chunked = await fetch(server.url + "/start_session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big))
          controller.close()
        }
      }),
      duplex: "half"
    } as RequestInit).then(
      async (response) => ({ status: response.status, body: await response.json() }),
      () => "reset"
    )
    if (chunked !== "reset") expect(chunked).toMatchObject({ status: 413, body: { code: "body_too_large" } })
    expect((await http(server, "GET", "/health")).body.sessions).toBe(0)
  })

  it("answers a deeply nested body with nesting_too_deep", async () => {
    const answer = await http(server, "POST", "/start_session", { body: `{"extra_args":{"a":${nested(5000)}}}` })
    expect(answer.status).toBe(400)
    expect(answer.body.code).toBe("nesting_too_deep")
  })

  it("answers session_not_found for a session id of any length", async () => {
    const long = "x".repeat(300)
    for (const path of [`/sessions/${long}/info`, `/sessions/${long}`]) {
      const answer = await http(server, path.endsWith("info") ? "GET" : "DELETE", path)
      expect(answer.status, path).toBe(404)
      expect(answer.body.code, path).toBe("session_not_found")
    }
  })

  it("a busy port fails with a message naming it", async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    const port = (holder.address() as { port: number }).port
    try {
      await expect(startServer({ port })).rejects.toThrow(new RegExp(`port ${port} .*already in use`))
    } finally {
      holder.close()
    }
  })
})

describe("faults: WebSocket", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 8, statsIntervalMs: 200 })
  })
  afterAll(() => server.close())

  it("a deeply nested message earns nesting_too_deep and the socket goes on answering", async () => {
    const { client } = await connect(server)
    client.send(`{"scope":"application","data":{"type":"set_color","data":{"r":${nested(3000)}},"id":"deep"}}`)
    expect((await client.error("nesting_too_deep")).data).toMatchObject({ limit: 32 })
    client.send(`{"type":"set_color","data":${nested(100_000)}}`)
    await client.error("nesting_too_deep")
    client.runtime("ping")
    await client.next("pong")
    client.command("set_color", { r: 1 }, "after")
    expect((await client.next("commandAck")).data.id).toBe("after")
    await client.close()
  })

  it("an error reply stays small however large the bad value was", async () => {
    const { client } = await connect(server)
    const sizes: Array<number> = []
    client.ws.on("message", (data: Buffer, binary) => {
      if (!binary) sizes.push(data.length)
    })
    client.command("echo", { text: "y".repeat(250 * 1024) }, "big")
    const error = await client.error("invalid_payload")
    expect(error.data).toMatchObject({ id: "big", command: "echo", truncated: true })
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4 * 1024 + 100)
    await client.close()
  })

  it("a numeric id JSON cannot carry back (1e999) is refused, not answered with null", async () => {
    const { client } = await connect(server)
    client.send(`{"scope":"application","data":{"type":"set_color","data":{"r":1},"id":1e999}}`)
    const error = await client.error("invalid_envelope")
    expect(error.data.message).toContain("finite")
    expect(client.texts.some((t) => t.type === "commandAck")).toBe(false)
    await client.close()
  })

  it("commands beyond the per-connection budget get rate_limited, counted in stats and in /info", async () => {
    const limited = await startServer({ maxCommandsPerSecond: 1, commandBurst: 5, statsIntervalMs: 100 })
    try {
      const { client, session } = await connect(limited)
      for (let i = 0; i < 20; i++) client.command("set_color", { r: i }, i)
      const answers = []
      for (let i = 0; i < 20; i++) {
        answers.push(
          await client.next((m) => m.type === "commandAck" || (m.type === "error" && m.data.code === "rate_limited"))
        )
      }
      const refused = answers.filter((a) => a.type === "error")
      expect(answers.filter((a) => a.type === "commandAck").length).toBeGreaterThanOrEqual(5)
      expect(refused.length).toBeGreaterThan(0)
      expect(refused[0]!.data).toMatchObject({ command: "set_color", limit: 1, burst: 5, id: expect.any(Number) })
      const stats = await client.next((m) => m.type === "stats" && m.data.rate_limited === refused.length)
      expect(stats.data.rate_limited).toBe(refused.length)
      const info = await http(limited, "GET", `/sessions/${session.session_id}/info`)
      expect(info.body.stats.commands_rate_limited).toBe(refused.length)
      // rejected commands were not applied
      expect(info.body.stats.commands_applied).toBe(20 - refused.length)
      await client.close()
    } finally {
      await limited.close()
    }
  })

  it("a flooding connection is read at its message budget: another session is answered meanwhile", async () => {
    const paced = await startServer({ maxSessions: 2, maxMessagesPerSecond: 100 })
    try {
      const flooder = await connect(paced)
      const victim = await connect(paced)
      let pongs = 0
      flooder.client.ws.on("message", (data: Buffer, binary) => {
        if (!binary && data.includes("pong")) pongs++
      })
      for (let i = 0; i < 400; i++) flooder.client.runtime("ping")
      victim.client.runtime("ping")
      await victim.client.next("pong")
      await victim.client.waitFrames(3)
      expect(pongs).toBeLessThan(400)
      // nothing the flooder sent is lost: every ping is answered in the end
      expect(await eventually(async () => pongs === 400, 20_000)).toBe(true)
      await flooder.client.close()
      await victim.client.close()
    } finally {
      await paced.close()
    }
  }, 30_000)

  it(
    "a frozen client (no FIN, no close handshake) is terminated on idle: its session is orphaned at once",
    async () => {
      const idle = await startServer({ idleTimeoutMs: 300, graceMs: 60_000 })
      try {
        const { client, session } = await connect(idle)
        ;(client.ws as any)._socket.pause() // the client stops reading: it will never answer the close
        const orphaned = await eventually(
          async () => (await http(idle, "GET", `/sessions/${session.session_id}/info`)).body.state === "orphaned",
          10_000
        )
        expect(orphaned).toBe(true)
        client.ws.terminate()
      } finally {
        await idle.close()
      }
    },
    120_000
  )

  it("/info's dropped_frames includes the frames the socket skipped for a client that does not read", async () => {
    const slow = await startServer({ statsIntervalMs: 200 }, { width: 320, height: 240, fps: 30, noisy: true })
    try {
      const { client, session } = await connect(slow, "?format=rgb")
      client.keepFrames = false
      await client.waitFrames(2)
      ;(client.ws as any)._socket.pause()
      // paused until the server has skipped frames for it (what it counts, not how long that took, is asserted)
      const skipped = await eventually(
        async () => (await http(slow, "GET", `/sessions/${session.session_id}/info`)).body.stats.dropped_frames > 5,
        60_000
      )
      expect(skipped).toBe(true)
      ;(client.ws as any)._socket.resume()
      const stats = await client.next((m) => m.type === "stats" && m.data.dropped > 5, 60_000)
      const info = await http(slow, "GET", `/sessions/${session.session_id}/info`)
      expect(info.body.stats.dropped_frames).toBeGreaterThanOrEqual(stats.data.dropped)
      await client.close()
    } finally {
      await slow.close()
    }
  }, 120_000)
})

describe("faults: RPC", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 4 })
  })
  afterAll(() => server.close())

  it("commands still waiting when the client leaves are dropped, not applied", async () => {
    const session = await startSession(server)
    const program = Effect.gen(function*() {
      const client = yield* ReactorClient.make(Commands, {
        url: server.url,
        sessionId: session.session_id,
        reconnects: 0
      })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 300 }, () => 0),
        () => Effect.fork(client.commands.sleep({ ms: 20 })),
        { concurrency: "unbounded" }
      )
      yield* Fiber.join(fibers[0]!)
    }).pipe(Effect.scoped)
    await Effect.runPromise(program)
    const info = async () => (await http(server, "GET", `/sessions/${session.session_id}/info`)).body
    // once the server has seen the client leave (its session orphaned), nothing of that connection is applied
    expect(await eventually(async () => (await info()).state === "orphaned", 60_000)).toBe(true)
    const first = (await info()).stats.commands_applied
    expect(first).toBeLessThan(300)
    // An ordering check: the session's mailbox applies one command at a time, first come first served, so had the
    // left-behind commands gone on being submitted, they would alternate with the ten below (about 20 more applied).
    await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* ReactorClient.make(Commands, { url: server.url, sessionId: session.session_id })
        for (let i = 0; i < 10; i++) yield* client.commands.sleep({ ms: 20 })
      }).pipe(Effect.scoped)
    )
    const after = (await info()).stats.commands_applied
    // the ten, and at most the one command that was being applied when the client left
    expect(after - first).toBeGreaterThanOrEqual(10)
    expect(after - first).toBeLessThanOrEqual(11)
  }, 120_000)

  it("at most maxPendingRequests commands wait per connection; one more is refused with too_many_requests", async () => {
    const bounded = await startServer({ maxPendingRequests: 16 })
    try {
      const outcomes = await Effect.runPromise(
        Effect.gen(function*() {
          const client = yield* ReactorClient.make(Commands, { url: bounded.url })
          return yield* Effect.forEach(
            Array.from({ length: 100 }, () => 0),
            () => Effect.either(client.commands.sleep({ ms: 5 })),
            { concurrency: "unbounded" }
          )
        }).pipe(Effect.scoped)
      )
      const refused = outcomes.filter((o) => o._tag === "Left")
      expect(outcomes.length - refused.length).toBeGreaterThanOrEqual(16)
      expect(refused.length).toBeGreaterThan(0)
      for (const o of refused) {
        expect(o.left).toMatchObject({ _tag: "WireError", code: "too_many_requests", details: { limit: 16 } })
      }
    } finally {
      await bounded.close()
    }
  })

  it("a deeply nested payload earns nesting_too_deep and the connection goes on", async () => {
    const session = await startSession(server)
    const result = await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* ReactorClient.make(Commands, { url: server.url, sessionId: session.session_id })
        let deep: unknown = 1
        for (let i = 0; i < 1000; i++) deep = [deep]
        const error = yield* Effect.flip(client.commands.set_color({ r: deep } as any))
        const ack = yield* client.commands.set_color({ r: 3 })
        return { error, ack }
      }).pipe(Effect.scoped)
    )
    expect(result.error).toMatchObject({ _tag: "WireError", code: "nesting_too_deep" })
    expect(result.ack.command).toBe("set_color")
  })
})

describe("faults: RPC wire", () => {
  it("a message nested 50,000 levels deep does not wedge the RPC socket: the next request is answered", async () => {
    const server = await startServer()
    try {
      const session = await startSession(server)
      const ws = new WebSocket(`${server.wsUrl}/sessions/${session.session_id}/transport/rpc`)
      const parser = RpcSerialization.msgPack.unsafeMake()
      const responses: Array<any> = []
      ws.on("message", (data: Buffer) => responses.push(...(parser.decode(new Uint8Array(data)) as Array<any>)))
      await new Promise((resolve, reject) => {
        ws.once("open", resolve)
        ws.once("error", reject)
      })
      // msgpack: 50,000 one-element arrays around a 1 (no encoder would build it; a hostile client can)
      ws.send(Buffer.concat([Buffer.alloc(50_000, 0x91), Buffer.from([0x01])]))
      const request = { _tag: "Request", id: "7", tag: "set_color", payload: { r: 9 }, headers: [] }
      ws.send(parser.encode(request) as Uint8Array)
      const answered = await eventually(
        async () => responses.some((r) => r._tag === "Exit" && r.requestId === "7"),
        10_000
      )
      expect(answered).toBe(true)
      const exit = responses.find((r) => r._tag === "Exit" && r.requestId === "7")
      expect(exit.exit._tag).toBe("Success")
      ws.terminate()
    } finally {
      await server.close()
    }
  })
})

describe("faults: WebSocket refusals", () => {
  it("refuses an upgrade to a path that is no transport with 404", async () => {
    const server = await startServer()
    try {
      const client = Client.connect(server, "/nowhere")
      await expect(client.opened).rejects.toThrow(/404/)
    } finally {
      await server.close()
    }
  })
})
