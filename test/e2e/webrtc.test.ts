/**
 * The WebRTC transport from the outside, with a bare wrtc client (RawPeer.ts): the data channel's envelopes and
 * errors, liveness (a silent peer is closed and its session orphaned), replacement by a newer peer, `sessionEnded`,
 * and the connection core's per-connection rules (sessionReady, budgets, nesting, drop of an overfull inbox), which
 * the channel shares with the WebSocket and RPC transports.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { until } from "../sdk/NodeSdk.js"
import { http, startServer } from "./helpers.js"
import * as RawPeer from "./RawPeer.js"

const start = async (server: Server.Handle) =>
  (await http(server, "POST", "/start_session", { body: {} })).body.session_id as string
const state = async (server: Server.Handle, id: string) =>
  (await http(server, "GET", `/sessions/${id}/info`)).body.state

describe("transport: WebRTC", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 8, graceMs: 10_000, idleTimeoutMs: 1_500, statsIntervalMs: 300 })
  })
  afterAll(() => server.close())

  it("serves envelopes on the data channel: pong, capabilities, acks, errors; video frames flow; stats", async () => {
    const id = await start(server)
    const peer = await RawPeer.connect(server.url, id)
    expect(await state(server, id)).toBe("running")
    peer.send({ scope: "runtime", data: { type: "ping", data: {} } })
    peer.send({ scope: "runtime", data: { type: "requestCapabilities", data: {} } })
    peer.send({ scope: "application", data: { type: "set_color", data: { r: 9 }, id: "c1" } })
    peer.send({ scope: "application", data: { type: "set_color", data: { r: 999 }, id: "c2" } })
    peer.send({ scope: "application", data: { type: "nope", data: {} } })
    peer.send("{not json")
    peer.channel.send(new Uint8Array([1, 2, 3]))
    await until("every answer", () => peer.received.filter((m) => m.type === "error").length >= 4)
    const types = peer.received.map((m) => m.type)
    expect(types).toContain("pong")
    expect(peer.received.find((m) => m.type === "modelCapabilities").data.commands.map((c: any) => c.name)).toContain(
      "set_color"
    )
    expect(peer.received.find((m) => m.type === "commandAck").data).toMatchObject({ id: "c1", command: "set_color" })
    const codes = peer.received.filter((m) => m.type === "error").map((m) => m.data.code)
    expect(codes).toEqual(["invalid_payload", "unknown_command", "invalid_json", "binary_not_accepted"])
    await until("video frames", () => peer.frames > 3)
    await until("stats", () => peer.received.some((m) => m.type === "stats" && m.data.frames > 0))
    peer.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("the answer states the data channel's message limit (the SDK sends nothing bigger)", async () => {
    const id = await start(server)
    const peer = await RawPeer.connect(server.url, id)
    expect(peer.pc.remoteDescription!.sdp).toMatch(/a=max-message-size:262144/)
    peer.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("a peer that stays silent past idleTimeoutMs is closed and its session orphaned", async () => {
    const id = await start(server)
    const peer = await RawPeer.connect(server.url, id)
    await until("the session orphaned", async () => (await state(server, id)) === "orphaned")
    await until("the client sees its channel close", () => peer.channel.readyState === "closed")
    peer.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("a newer peer (PUT sdp_params) replaces the current one; the session keeps running", async () => {
    const id = await start(server)
    const first = await RawPeer.connect(server.url, id)
    const second = await RawPeer.connect(server.url, id, "PUT")
    await until("the first peer closed", () => first.channel.readyState === "closed")
    second.send({ scope: "runtime", data: { type: "ping", data: {} } })
    await until("the second peer answered", () => second.received.some((m) => m.type === "pong"))
    expect(await state(server, id)).toBe("running")
    first.close()
    second.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("the session's end is said on the channel (sessionEnded), then the peer closes", async () => {
    const id = await start(server)
    const peer = await RawPeer.connect(server.url, id)
    peer.send({ scope: "runtime", data: { type: "stop", data: {} } })
    await until("sessionEnded", () => peer.received.some((m) => m.type === "sessionEnded"))
    expect(peer.received.find((m) => m.type === "sessionEnded").data).toEqual({
      reason: "stopped",
      message: "stopped (client)"
    })
    await until("the channel closed", () => peer.channel.readyState === "closed")
    peer.close()
  })
})

describe("transport: WebRTC through the connection core", () => {
  it("says sessionReady first, refuses commands over the budget (rate_limited, counted in /info) and deep payloads", async () => {
    const server = await startServer({ maxSessions: 2, maxCommandsPerSecond: 0.01, commandBurst: 2 })
    try {
      const id = await start(server)
      const peer = await RawPeer.connect(server.url, id)
      await until("sessionReady", () => peer.received.some((m) => m.type === "sessionReady"))
      expect(peer.received[0]).toMatchObject({
        scope: "runtime",
        type: "sessionReady",
        data: { session_id: id, resumed: false }
      })
      for (let i = 0; i < 5; i++) {
        peer.send({ scope: "application", data: { type: "set_color", data: { r: i }, id: `c${i}` } })
      }
      await until(
        "five answers",
        () => peer.received.filter((m) => m.type === "commandAck" || m.type === "error").length >= 5
      )
      const answers = peer.received.filter((m) => m.type === "commandAck" || m.type === "error")
      expect(answers.filter((m) => m.type === "commandAck").map((m) => m.data.id)).toEqual(["c0", "c1"])
      const limited = answers.filter((m) => m.type === "error")
      expect(limited.map((m) => [m.data.code, m.data.id])).toEqual([["rate_limited", "c2"], ["rate_limited", "c3"], [
        "rate_limited",
        "c4"
      ]])
      expect((await http(server, "GET", `/sessions/${id}/info`)).body.stats.commands_rate_limited).toBe(3)

      let deep: unknown = 1
      for (let i = 0; i < 40; i++) deep = [deep]
      peer.send({ scope: "application", data: { type: "set_color", data: { r: deep }, id: "deep" } })
      await until(
        "nesting_too_deep",
        () => peer.received.some((m) => m.type === "error" && m.data.code === "nesting_too_deep")
      )
      expect(peer.received.find((m) => m.data?.code === "nesting_too_deep").data).toMatchObject({
        id: "deep",
        limit: 32
      })
      peer.close()
    } finally {
      await server.close()
    }
  })

  it("paces a flooding channel to its message budget and drops what overflows its inbox with too_many_messages", async () => {
    const server = await startServer({ maxSessions: 2, maxMessagesPerSecond: 2 })
    try {
      const id = await start(server)
      const peer = await RawPeer.connect(server.url, id)
      for (let i = 0; i < 400; i++) peer.send({ scope: "runtime", data: { type: "ping", data: {} } })
      await until(
        "drops refused",
        () => peer.received.some((m) => m.type === "error" && m.data.code === "too_many_messages")
      )
      const dropped = peer.received.filter((m) => m.data?.code === "too_many_messages")
      expect(dropped[0].data).toMatchObject({ limit: 256 })
      // the channel is still served: what was queued is answered at the budget's pace
      const pongs = peer.received.filter((m) => m.type === "pong").length
      await until("a later pong", () => peer.received.filter((m) => m.type === "pong").length > pongs)
      expect(peer.channel.readyState).toBe("open")
      peer.close()
    } finally {
      await server.close()
    }
  })
})

describe("transport: WebRTC at shutdown", () => {
  it("every peer gets sessionEnded(shutdown) before the server closes it", async () => {
    const server = await startServer({ maxSessions: 2 })
    const id = await start(server)
    const peer = await RawPeer.connect(server.url, id)
    await server.close()
    await until("sessionEnded", () => peer.received.some((m) => m.type === "sessionEnded"))
    expect(peer.received.find((m) => m.type === "sessionEnded").data).toEqual({
      reason: "shutdown",
      message: "runtime shutdown"
    })
    peer.close()
  })
})
