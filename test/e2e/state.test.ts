/**
 * A model's declared state from the outside: its fields are `set_<field>` commands with their bounds in capabilities,
 * every change reaches every viewer as a runtime `state` message (and a new viewer gets it at once), the lifecycle
 * hooks run (`sessionStarted`, `connected`, `disconnected`, `sessionEnded`), and `ctx.flush` cuts to black. Run with
 * the model in the server's thread and in a model host (a worker thread).
 */
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import * as Fixture from "../fixtures/viewers-model.js"
import { Client, eventually, http, startSession } from "./helpers.js"

const serving: ReadonlyArray<{ readonly name: string; readonly model: Server.Serving }> = [
  { name: "in the server's thread", model: Fixture.model },
  {
    name: "in a model host",
    model: { _tag: "Worker", module: fileURLToPath(new URL("../fixtures/viewers-model.ts", import.meta.url)) }
  }
]

for (const { model, name } of serving) {
  describe(`declared state and hooks, the model ${name}`, () => {
    let server: Server.Handle
    beforeAll(async () => {
      server = await Server.listen(model, { host: "127.0.0.1", port: 0, maxSessions: 8, graceMs: 10_000 })
    })
    afterAll(() => server.close())

    const open = async (id?: string, query = "") => {
      const sessionId = id ?? (await startSession(server)).session_id
      const client = Client.connect(server, `/sessions/${sessionId}/transport/websocket?format=rgb${query}`)
      await client.next("sessionReady")
      return { id: sessionId, client }
    }

    it("each field is a set_<field> command with its bounds, in capabilities and the SDK's modelCapabilities", async () => {
      const capabilities = (await http(server, "GET", "/capabilities")).body
      const commands = capabilities.commands as ReadonlyArray<any>
      expect(commands.map((c) => c.name)).toEqual([
        "describe",
        "spend",
        "reset",
        "bad_reply",
        "set_brightness",
        "set_pattern"
      ])
      expect(commands.find((c) => c.name === "set_brightness")).toMatchObject({
        description: "Grey level of the picture",
        schema: { brightness: { type: "integer", minimum: 1, maximum: 255, required: true } }
      })
      expect(commands.find((c) => c.name === "set_pattern").schema.pattern).toMatchObject({
        type: "string",
        enum: ["plain", "stripes"]
      })
      const { client, id } = await open()
      client.runtime("requestCapabilities")
      const listed = await client.next("modelCapabilities")
      expect(listed.data.commands.map((c: any) => c.name)).toContain("set_pattern")
      client.close()
      await http(server, "DELETE", `/sessions/${id}`)
    })

    it("a change reaches every viewer as `state`; a new viewer gets it at once; bounds are checked", async () => {
      const { client, id } = await open()
      // the first viewer gets the state as it connects: the defaults
      expect((await client.next("state")).data).toEqual({ brightness: 40, pattern: "plain" })
      const watcher = (await open(id, "&role=watcher")).client
      expect((await watcher.next("state")).data).toEqual({ brightness: 40, pattern: "plain" })
      client.command("set_brightness", { brightness: 180 }, 1)
      await client.next((m) => m.type === "commandAck" && m.data.id === 1)
      for (const viewer of [client, watcher]) {
        expect((await viewer.next((m) => m.type === "state" && m.data.brightness === 180)).scope).toBe("runtime")
      }
      // the frames follow the state
      expect(
        await eventually(async () => {
          await client.waitFrames(1)
          return client.frames.at(-1)!.payload[0] === 180
        })
      ).toBe(true)
      client.command("set_brightness", { brightness: 999 }, 2)
      const refused = await client.next((m) => m.type === "error" && m.data.id === 2)
      expect(refused.data).toMatchObject({ code: "invalid_payload", command: "set_brightness" })
      client.command("set_pattern", { pattern: "dots" }, 3)
      expect((await client.next((m) => m.type === "error" && m.data.id === 3)).data.code).toBe("invalid_payload")
      // a late viewer starts from the current state, not the defaults
      const late = (await open(id, "&role=watcher")).client
      expect((await late.next("state")).data).toEqual({ brightness: 180, pattern: "plain" })
      for (const c of [late, watcher, client]) c.close()
      await http(server, "DELETE", `/sessions/${id}`)
    })

    it("hooks: sessionStarted before the loop, connected / disconnected per viewer, sessionEnded once", async () => {
      const { client, id } = await open()
      client.command("describe", {}, "d")
      expect((await client.next((m) => m.data?.id === "d")).data.result).toMatchObject({ started: true, viewers: 1 })
      const watcher = (await open(id, "&role=watcher")).client
      const joined = await client.next((m) =>
        m.type === "hook" && m.data.hook === "connected" && m.data.role === "watcher"
      )
      expect(joined.data).toMatchObject({ transport: "websocket", viewer: expect.any(String) })
      await watcher.close()
      const left = await client.next((m) => m.type === "hook" && m.data.hook === "disconnected")
      expect(left.data).toMatchObject({ role: "watcher", viewer: joined.data.viewer })
      client.command("describe", {}, "d2")
      expect((await client.next((m) => m.data?.id === "d2")).data.result.viewers).toBe(1)
      client.command("set_brightness", { brightness: 77 }, "b")
      await client.next((m) => m.data?.id === "b")
      await http(server, "DELETE", `/sessions/${id}`)
      await client.next("sessionEnded")
      if (model === Fixture.model) {
        // in this thread the fixture's record is readable: sessionEnded ran once, and saw the final state
        expect(Fixture.endedSessions.filter((e) => e.session === id)).toEqual([{ session: id, brightness: 77 }])
      }
      // no `disconnected` for the viewers still there when the session ended
      expect(client.texts.filter((m) => m.type === "hook" && m.data.hook === "disconnected")).toHaveLength(1)
    })

    it("flush: the frames waiting are dropped and the picture cuts to black", async () => {
      const { client, id } = await open()
      client.command("set_brightness", { brightness: 200 }, "b")
      await client.next((m) => m.data?.id === "b")
      expect(
        await eventually(async () => {
          await client.waitFrames(1)
          return client.frames.at(-1)!.payload[0] === 200
        })
      ).toBe(true)
      // the model draws grey, never black: a black frame can only be the flush's
      expect(client.frames.some((f) => f.payload[0] === 0)).toBe(false)
      client.command("reset", {}, "r")
      await client.next((m) => m.type === "commandAck" && m.data.id === "r")
      expect(
        await eventually(async () => {
          await client.waitFrames(1)
          return client.frames.some((f) => f.payload[0] === 0)
        })
      ).toBe(true)
      const black = client.frames.find((f) => f.payload[0] === 0)!
      expect(black.payload.every((byte) => byte === 0)).toBe(true)
      client.close()
      await http(server, "DELETE", `/sessions/${id}`)
    })
  })
}
