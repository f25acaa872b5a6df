/**
 * A Python model's declared state (Reactor's `InputState`), served end to end: each public field is a `set_<field>`
 * command with its bounds, the viewers get the state when they connect and when a setter changes it, the model reads
 * it as `self.state`, and each session starts from the defaults.
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
    { _tag: "Python", module: resolve("test/fixtures/python/state.py") },
    { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000 },
    undefined,
    logLevel
  )
}, 120_000)
afterAll(() => server?.close())

const open = async () => {
  const started = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
  })
  const client = Client.connect(server, started.body.selected_transport.url + "?format=rgb")
  await client.next("sessionReady")
  return { id: started.body.session_id as string, client }
}

it("the state's fields are set_<field> commands with their bounds; private fields are not", async () => {
  const commands = (await http(server, "GET", "/capabilities")).body.commands as ReadonlyArray<any>
  expect(commands.map((c) => c.name)).toEqual(["set_brightness", "set_pattern"])
  expect(commands[0]).toMatchObject({
    description: "Grey level of the picture",
    schema: { brightness: { type: "integer", minimum: 1, maximum: 255, required: true } }
  })
  expect(commands[1].schema.pattern).toMatchObject({ type: "string", enum: ["plain", "stripes"] })
})

it("viewers get the state on connect and on every change; the model draws it; a new session starts over", async () => {
  const { client, id } = await open()
  expect((await client.next("state")).data).toEqual({ brightness: 40, pattern: "plain" })
  client.command("set_brightness", { brightness: 200 }, 1)
  expect((await client.next((m) => m.data?.id === 1)).type).toBe("commandAck")
  expect((await client.next("state")).data).toEqual({ brightness: 200, pattern: "plain" })
  expect(
    await eventually(async () => {
      await client.waitFrames(1)
      return client.frames.at(-1)!.payload[0] === 200
    })
  ).toBe(true)
  client.command("set_brightness", { brightness: 0 }, 2)
  expect((await client.next((m) => m.data?.id === 2)).data).toMatchObject({
    code: "invalid_payload",
    command: "set_brightness"
  })
  const watcher = Client.connect(server, `/sessions/${id}/transport/websocket?role=watcher`)
  await watcher.next("sessionReady")
  expect((await watcher.next("state")).data).toEqual({ brightness: 200, pattern: "plain" })
  watcher.close()
  client.close()
  await http(server, "DELETE", `/sessions/${id}`)

  const next = await open()
  expect((await next.client.next("state")).data).toEqual({ brightness: 40, pattern: "plain" })
  next.client.close()
  await http(server, "DELETE", `/sessions/${next.id}`)
}, 60_000)
