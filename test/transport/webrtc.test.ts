/**
 * The WebRTC transport from the outside, with a bare wrtc client (RawPeer.ts): the data channel's envelopes and
 * errors, liveness (a silent peer is closed and its session orphaned), replacement by a newer peer, `sessionEnded`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { http, startServer } from "../server/helpers.js"
import { until } from "../sdk/NodeSdk.js"
import * as RawPeer from "./RawPeer.js"

const start = async (server: Server.Handle) => (await http(server, "POST", "/start_session", { body: {} })).body.session_id as string
const state = async (server: Server.Handle, id: string) => (await http(server, "GET", `/sessions/${id}/info`)).body.state

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
    expect(peer.received.find((m) => m.type === "modelCapabilities").data.commands.map((c: any) => c.name)).toContain("set_color")
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
    expect(peer.received.find((m) => m.type === "sessionEnded").data).toEqual({ reason: "stopped", message: "stopped (client)" })
    await until("the channel closed", () => peer.channel.readyState === "closed")
    peer.close()
  })
})

describe("transport: WebRTC at shutdown", () => {
  it("every peer gets sessionEnded(shutdown) before the server closes it", async () => {
    const server = await startServer({ maxSessions: 2 })
    const id = await start(server)
    const peer = await RawPeer.connect(server.url, id)
    await server.close()
    await until("sessionEnded", () => peer.received.some((m) => m.type === "sessionEnded"))
    expect(peer.received.find((m) => m.type === "sessionEnded").data).toEqual({ reason: "shutdown", message: "runtime shutdown" })
    peer.close()
  })
})
