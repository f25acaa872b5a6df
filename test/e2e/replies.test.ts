/**
 * Typed command replies from the outside: a command declared with a success schema answers its sender with the
 * handler's value (correlated by the command's id on the WebSocket and the data channel, typed in the TypeScript
 * client), a client without ids gets it as a model message addressed to it alone, and a handler refuses with a code
 * of its own (`Command.refuse`).
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ReactorClient } from "../../src/client/index.js"
import * as Server from "../../src/server/Server.js"
import * as Fixture from "../fixtures/viewers-model.js"
import { until } from "../sdk/NodeSdk.js"
import { Client, http, sleep, startSession } from "./helpers.js"
import * as RawPeer from "./RawPeer.js"

describe("typed replies", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.listen(Fixture.model, { host: "127.0.0.1", port: 0, maxSessions: 8, graceMs: 10_000 })
  })
  afterAll(() => server.close())

  const open = async () => {
    const session = await startSession(server)
    const client = Client.connect(server, session.selected_transport.url + "?format=rgb")
    await client.next("sessionReady")
    return { id: session.session_id, client }
  }

  it("over the WebSocket: the reply in the command's ack, by its id", async () => {
    const { client, id } = await open()
    client.command("set_brightness", { brightness: 90 }, "b")
    await client.next((m) => m.type === "commandAck" && m.data.id === "b")
    client.command("describe", {}, "d1")
    const ack = await client.next((m) => m.type === "commandAck" && m.data.id === "d1")
    expect(ack.data).toMatchObject({
      command: "describe",
      frame: expect.any(Number),
      result: { brightness: 90, pattern: "plain", viewers: 1, started: true }
    })
    // a command without a reply acks as before: no result
    const plain =
      await (client.command("set_pattern", { pattern: "stripes" }, "p"),
        client.next((m) => m.type === "commandAck" && m.data.id === "p"))
    expect(plain.data).not.toHaveProperty("result")
    client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("a client that sends no id (Reactor's SDK) gets the reply as a model message, named by the schema", async () => {
    const { client, id } = await open()
    const other = Client.connect(server, `/sessions/${id}/transport/websocket?format=rgb&role=watcher`)
    await other.next("sessionReady")
    client.command("describe", {})
    const reply = await client.next((m) => m.scope === "application" && m.type === "current_look")
    expect(reply.data).toMatchObject({ brightness: 40, pattern: "plain", viewers: 2 })
    // without an identifier the type is `<command>_reply`
    client.command("spend", { note: "tea" })
    expect((await client.next((m) => m.type === "spend_reply")).data).toEqual({ left: 1, note: "tea" })
    // addressed to its sender alone: the watcher saw neither
    await sleep(200)
    expect(other.texts.some((m) => m.type === "current_look" || m.type === "spend_reply")).toBe(false)
    other.close()
    client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("a refusal carries the model's own code and message; a reply that breaks its schema is the model's bug", async () => {
    const { client, id } = await open()
    client.command("spend", {}, "s1")
    client.command("spend", {}, "s2")
    client.command("spend", {}, "s3")
    expect((await client.next((m) => m.data?.id === "s1")).data.result).toEqual({ left: 1, note: "" })
    expect((await client.next((m) => m.data?.id === "s2")).data.result).toEqual({ left: 0, note: "" })
    const refused = await client.next((m) => m.data?.id === "s3")
    expect(refused.type).toBe("error")
    expect(refused.data).toEqual({
      code: "quota_exceeded",
      message: "No credits remain for this session.",
      command: "spend",
      id: "s3"
    })
    client.command("bad_reply", {}, "x")
    const bad = await client.next((m) => m.data?.id === "x")
    expect(bad.type).toBe("error")
    expect(bad.data.code).toBe("handler_failed")
    expect(bad.data.message).toMatch(/does not match its success schema.*count/)
    // the session goes on
    client.command("describe", {}, "d")
    expect((await client.next((m) => m.data?.id === "d")).type).toBe("commandAck")
    client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("the typed client receives the reply typed, and the refusal as a typed error", async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const client = await Effect.runPromise(
        ReactorClient.make(Fixture.ClientCommands, { url: server.url, reconnects: 0 }).pipe(Scope.extend(scope))
      )
      await Effect.runPromise(client.commands.set_brightness({ brightness: 120 }))
      const ack = await Effect.runPromise(client.commands.describe())
      // typed: `ack.result.brightness` is a number to the compiler
      const brightness: number = ack.result.brightness
      expect(brightness).toBe(120)
      expect(ack.result).toMatchObject({ pattern: "plain", started: true })
      const spent = await Effect.runPromise(client.commands.spend({ note: "a" }))
      expect(spent.result).toEqual({ left: 1, note: "a" })
      await Effect.runPromise(client.commands.spend())
      const refused = await Effect.runPromise(Effect.flip(client.commands.spend()))
      expect(refused).toMatchObject({ _tag: "Refused", code: "quota_exceeded", command: "spend" })
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })

  it("over the WebRTC data channel: the reply in the ack", async () => {
    const id = (await http(server, "POST", "/start_session", { body: {} })).body.session_id as string
    const peer = await RawPeer.connect(server.url, id)
    peer.send({ scope: "application", data: { type: "describe", data: {}, id: 7 } })
    await until("the ack", () => peer.received.some((m) => m.type === "commandAck" && m.data.id === 7))
    expect(peer.received.find((m) => m.type === "commandAck").data.result).toMatchObject({ brightness: 40 })
    peer.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })
})
