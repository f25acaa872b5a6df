/**
 * The RPC transport's edge, from the outside with a hand-made @effect/rpc client (issue 15): a malformed message is
 * answered with a specific `invalid_rpc_message` and the connection goes on serving; a flood of requests (1000 in a
 * message) is read at the connection's budget, answered `rate_limited` beyond the command budget, and another
 * session keeps its frames and acks meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { connect, startServer, startSession } from "../e2e/helpers.js"
import { RawRpc, type Response } from "../e2e/RawRpc.js"

/** The wire error an answer carries: an `Exit`'s typed failure, or a connection-level `Defect`. */
const errorOf = (response: Response | undefined): Record<string, any> | undefined =>
  response?._tag === "Defect"
    ? response.defect
    : response?._tag === "Exit" && response.exit._tag === "Failure" && response.exit.cause._tag === "Fail"
    ? response.exit.cause.error
    : undefined

const request = RawRpc.request

describe("rpc transport: malformed messages", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ statsIntervalMs: 60_000, maxSessions: 64 })
  })
  afterAll(() => server.close())

  /** Malformed messages that name no request the client could be answered on: a connection-level error. */
  const unaddressable: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ["an id that is not an integer", { ...request("abc", "set_color", { r: 1 }) }, /id/],
    ["a fractional id", { ...request("1.5", "set_color", { r: 1 }) }, /id/],
    ["a numeric id", { ...request("1", "set_color", { r: 1 }), id: 1 }, /id/],
    ["no id", { _tag: "Request", tag: "set_color", payload: { r: 1 }, headers: [] }, /id/],
    ["an Interrupt of id x", { _tag: "Interrupt", requestId: "x" }, /requestId/],
    ["an Ack of id x", { _tag: "Ack", requestId: "x" }, /requestId/],
    ["an Ack of no id", { _tag: "Ack" }, /requestId/],
    ["an unknown _tag", { _tag: "Nope" }, /_tag/],
    ["no _tag", { id: "3" }, /_tag/],
    ["a number", 42, /map/],
    ["null", null, /map/],
    ["a string", "hello", /map/],
    ["an array", [1, 2], /map/]
  ]

  /** Malformed requests with a usable id: answered on that id. */
  const addressable: ReadonlyArray<readonly [string, (id: string) => unknown, RegExp]> = [
    ["headers that are not an array", (id) => ({ ...request(id, "set_color", { r: 1 }), headers: "nope" }), /headers/],
    ["headers that are not pairs", (id) => ({ ...request(id, "set_color", { r: 1 }), headers: [["a", 1]] }), /headers/],
    ["a tag that is not a string", (id) => request(id, 7 as any, { r: 1 }), /tag/],
    ["an unknown tag", (id) => request(id, "launch_missiles", {}), /launch_missiles/]
  ]

  it.each(unaddressable)(
    "%s is answered with invalid_rpc_message, and the next request is served",
    async (_name, message, mentions) => {
      const session = await startSession(server)
      const rpc = await RawRpc.open(server, session.session_id)
      try {
        rpc.send(message)
        rpc.send(request("2", "set_color", { r: 9 }))
        const next = await rpc.exitOf("2")
        expect(next.exit._tag).toBe("Success")
        const refusal = errorOf(rpc.responses.find((r) => r._tag === "Defect"))
        expect(refusal).toMatchObject({ code: "invalid_rpc_message", message: expect.stringMatching(mentions) })
        // the refusal came before the next request's answer: messages are handled in order
        expect(rpc.responses.findIndex((r) => r._tag === "Defect")).toBeLessThan(rpc.responses.indexOf(next))
      } finally {
        rpc.close()
      }
    }
  )

  it.each(addressable)(
    "a request with %s is answered on its id with invalid_rpc_message, and the next is served",
    async (_name, message, mentions) => {
      const session = await startSession(server)
      const rpc = await RawRpc.open(server, session.session_id)
      try {
        rpc.send(message("5"))
        rpc.send(request("6", "set_color", { r: 9 }))
        expect(errorOf(await rpc.exitOf("5"))).toMatchObject({
          _tag: "WireError",
          code: "invalid_rpc_message",
          message: expect.stringMatching(mentions)
        })
        expect((await rpc.exitOf("6")).exit._tag).toBe("Success")
      } finally {
        rpc.close()
      }
    }
  )

  it("one message with good and bad requests: each is answered, in order, and frames keep streaming", async () => {
    const session = await startSession(server)
    const rpc = await RawRpc.open(server, session.session_id)
    try {
      rpc.send(request("1", "reactor.frames", {}))
      await rpc.waitFor((r) => r._tag === "Chunk" && r.requestId === "1")
      rpc.send(
        request("2", "set_color", { r: 1 }),
        request("abc", "set_color", { r: 2 }),
        { _tag: "Interrupt", requestId: "x" },
        request("3", "set_color", { r: 3 }),
        // an id already in flight (the frame stream's) cannot be answered on: refused, the stream goes on
        request("1", "set_color", { r: 4 })
      )
      expect((await rpc.exitOf("2")).exit._tag).toBe("Success")
      expect((await rpc.exitOf("3")).exit._tag).toBe("Success")
      const refusals = () => rpc.responses.filter((r) => r._tag === "Defect").map((r) => errorOf(r)!)
      await rpc.waitFor(() => refusals().length >= 3)
      const defects = refusals()
      expect(defects.map((d) => d.code)).toEqual(["invalid_rpc_message", "invalid_rpc_message", "invalid_rpc_message"])
      expect(defects[2]!.message).toMatch(/in flight/)
      const chunks = () => rpc.responses.filter((r) => r._tag === "Chunk" && r.requestId === "1").length
      const before = chunks()
      expect(await rpc.waitFor(() => chunks() >= before + 3)).toBeDefined()
      expect(rpc.isClosed).toBe(false)
    } finally {
      rpc.close()
    }
  })

  it("a message that does not decode, or is cut short, is refused whole, on its own", async () => {
    const session = await startSession(server)
    const rpc = await RawRpc.open(server, session.session_id)
    try {
      // a msgpack extension (msgpackr's RegExp) with no body
      rpc.ws.send(Buffer.from([0xd4, 0x72, 0x00]))
      const whole = rpc.encode(request("8", "set_color", { r: 1 }))
      rpc.ws.send(Buffer.concat([rpc.encode(request("7", "set_color", { r: 1 })), whole.subarray(0, 5)]))
      rpc.send(request("9", "set_color", { r: 9 }))
      expect((await rpc.exitOf("9")).exit._tag).toBe("Success")
      const defects = rpc.responses.filter((r) => r._tag === "Defect").map((r) => errorOf(r)!)
      expect(defects).toHaveLength(2)
      for (const defect of defects) expect(defect).toMatchObject({ code: "invalid_rpc_message" })
    } finally {
      rpc.close()
    }
  })

  it("after a malformed message the session stays attached: a client leaving orphans it and can resume it", async () => {
    const session = await startSession(server)
    const rpc = await RawRpc.open(server, session.session_id)
    rpc.send(request("abc", "set_color", { r: 1 }))
    await rpc.waitFor((r) => r._tag === "Defect")
    rpc.close()
    await rpc.closed
    const again = await RawRpc.open(server, session.session_id)
    try {
      again.send(request("1", "set_color", { r: 5 }))
      expect((await again.exitOf("1")).exit._tag).toBe("Success")
    } finally {
      again.close()
    }
  })
})

describe("rpc transport: a flood of requests", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ statsIntervalMs: 60_000, maxSessions: 64 })
  })
  afterAll(() => server.close())

  it(
    "is answered rate_limited beyond the command budget, every request once, while another session is served",
    async () => {
      const victim = await connect(server, "?format=rgb")
      const session = await startSession(server)
      const flooder = await RawRpc.open(server, session.session_id)
      // the victim says it is alive (a silent client is closed after idleTimeoutMs, however long the flood lasts)
      const alive = setInterval(() => victim.client.runtime("ping"), 2_000)
      try {
        // 4 messages of 1000 requests each: 4000 requests, 4x the message budget of one second
        const messages = 4
        const perMessage = 1000
        for (let m = 0; m < messages; m++) {
          const batch = Array.from(
            { length: perMessage },
            (_, i) => request(String(m * perMessage + i + 1), "set_color", { r: i % 256 })
          )
          flooder.send(...batch)
        }
        // the victim meanwhile: its commands are acked in order and its frames keep coming
        for (let i = 0; i < 10; i++) victim.client.command("set_color", { r: i }, `v${i}`)
        const acks: Array<string> = []
        for (let i = 0; i < 10; i++) {
          const answer = await victim.client.next((m) => m.type === "commandAck" || m.type === "error", 20_000)
          acks.push(answer.type === "commandAck" ? answer.data.id : `error:${answer.data.code}`)
        }
        expect(acks).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`))
        await victim.client.waitFrames(10, 20_000)

        // every flooding request gets exactly one answer
        const exits = () => flooder.responses.filter((r) => r._tag === "Exit")
        await flooder.waitFor(() => exits().length >= messages * perMessage, 30_000)
        const ids = exits().map((r) => r.requestId)
        expect(new Set(ids).size).toBe(messages * perMessage)
        const codes = new Map<string, number>()
        for (const exit of exits()) {
          const code = exit.exit._tag === "Success" ? "ack" : errorOf(exit)?.code ?? "other"
          codes.set(code, (codes.get(code) ?? 0) + 1)
        }
        // beyond the burst (240) and budget (120/s), commands are refused as on the WebSocket transport
        expect(codes.get("rate_limited") ?? 0).toBeGreaterThan(messages * perMessage / 2)
        expect(codes.get("ack") ?? 0).toBeGreaterThanOrEqual(240)
        expect([...codes.keys()].filter((c) => !["ack", "rate_limited", "too_many_requests"].includes(c))).toEqual([])
        const refusal = exits().find((r) => errorOf(r)?.code === "rate_limited")
        expect(errorOf(refusal)).toMatchObject({ _tag: "WireError", details: { limit: 120, burst: 240 } })

        // counted in the session's figures like a WebSocket's refusals
        const info = await fetch(`${server.url}/sessions/${session.session_id}/info`).then((r) => r.json()) as any
        expect(info.stats.commands_rate_limited).toBe(codes.get("rate_limited"))
        // and the victim still gets frames after it
        await victim.client.waitFrames(5)
      } finally {
        clearInterval(alive)
        flooder.close()
        await victim.client.close()
      }
    },
    60_000
  )
})
