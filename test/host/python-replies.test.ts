/**
 * A Python model's typed replies, served end to end: a `@command` method annotated with a return type replies to its
 * sender with what it returns (a dict, a dataclass), `CommandError(code, message)` refuses with the model's own code,
 * and a method without a return annotation acks as before. Its lifecycle hooks (`@session_started`, `@connected`,
 * `@disconnected`) run.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { Client, eventually, http } from "../e2e/helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

let server: Server.Handle
beforeAll(async () => {
  server = await Server.listen(
    { _tag: "Python", module: resolve("test/fixtures/python/replies.py") },
    { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000 },
    undefined,
    logLevel
  )
}, 120_000)
afterAll(() => server?.close())

it("a returned value is the reply; CommandError refuses with its code", async () => {
  const started = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  const client = Client.connect(server, started.body.selected_transport.url + "?format=rgb")
  await client.next("sessionReady")
  client.command("add", { a: 2, b: 3 }, "a")
  expect((await client.next((m) => m.data?.id === "a")).data).toMatchObject({
    command: "add",
    result: { sum: 5 }
  })
  client.command("spend", { note: "tea" }, "s1")
  expect((await client.next((m) => m.data?.id === "s1")).data.result).toEqual({ left: 1, note: "tea" })
  client.command("spend", {}, "s2")
  await client.next((m) => m.data?.id === "s2")
  client.command("spend", {}, "s3")
  const refused = await client.next((m) => m.data?.id === "s3")
  expect(refused.type).toBe("error")
  expect(refused.data).toEqual({
    code: "quota_exceeded",
    message: "No credits remain for this session.",
    command: "spend",
    id: "s3"
  })
  client.command("noop", {}, "n")
  const plain = await client.next((m) => m.data?.id === "n")
  expect(plain.type).toBe("commandAck")
  expect(plain.data).not.toHaveProperty("result")
  // no id (Reactor's SDK): the reply comes as a message to the sender
  client.command("add", { a: 1 })
  expect((await client.next("add_reply")).data).toEqual({ sum: 1 })
  client.close()
  await http(server, "DELETE", `/sessions/${started.body.session_id}`)
}, 60_000)

it("get_ctx().flush() cuts to black: the model only draws grey, a black frame is the flush's", async () => {
  const started = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  const client = Client.connect(server, started.body.selected_transport.url + "?format=rgb")
  await client.next("sessionReady")
  await client.waitFrames(4)
  expect(client.frames.some((f) => f.payload[0] === 0)).toBe(false)
  client.command("cut", {}, "c")
  await client.next((m) => m.data?.id === "c")
  expect(
    await eventually(async () => {
      await client.waitFrames(1)
      return client.frames.some((f) => f.payload[0] === 0)
    })
  ).toBe(true)
  client.close()
  await http(server, "DELETE", `/sessions/${started.body.session_id}`)
}, 60_000)

it("the model's hooks run: session_started before the loop, connected and disconnected per viewer", async () => {
  const started = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  const id = started.body.session_id as string
  const client = Client.connect(server, started.body.selected_transport.url)
  await client.next("sessionReady")
  expect((await client.next("hook")).data).toEqual({ hook: "connected", role: "controller" })
  client.command("started", {}, "s")
  expect((await client.next((m) => m.data?.id === "s")).data.result).toEqual({ started: true })
  const watcher = Client.connect(server, `/sessions/${id}/transport/websocket?role=watcher`)
  await watcher.next("sessionReady")
  expect((await client.next("hook")).data).toEqual({ hook: "connected", role: "watcher" })
  await watcher.close()
  expect((await client.next("hook")).data).toEqual({ hook: "disconnected", role: "watcher" })
  client.close()
  await http(server, "DELETE", `/sessions/${id}`)
}, 60_000)
