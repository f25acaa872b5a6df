/**
 * A Python model (Reactor's Python API) served end to end over the WebSocket transport: its capabilities and every
 * command error are those of the equivalent TypeScript declaration; commands reach the Python methods and show in
 * the frames; a stop ends it cooperatively; a loop that ignores the stop, an exception, `sys.exit` and a segfault
 * each end the session with the right reason, and the next session runs in a fresh Python process.
 */
import { Either, LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Python from "../../src/host/python/PythonReactor.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"
import * as CommandError from "../../src/protocol/CommandError.js"
import * as Server from "../../src/server/Server.js"
import * as Mailbox from "../../src/session/Mailbox.js"
import { Client, http, sleep } from "../e2e/helpers.js"

const fixture = (name: string) => resolve(`test/fixtures/python/${name}`)
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

/** The same commands as test/fixtures/python/seed.py declares, written as a TypeScript model would. */
const equivalent = Command.group(
  Command.make("set_color", {
    description: "Paint every pixel",
    payload: {
      r: Param.int({ min: 0, max: 255, description: "Red" }),
      g: Param.int({ min: 0, max: 255, default: 0 }),
      b: Param.int({ min: 0, max: 255, default: 0 })
    }
  }),
  Command.make("move", {
    description: "Move one step",
    payload: {
      direction: Param.literal(["left", "right"]),
      speed: Param.number({ exclusiveMin: 0, max: 10, default: 1 })
    }
  }),
  Command.make("whoami", { description: "Says which process runs the model" }),
  Command.make("fail", { description: "Always raises" }),
  Command.make("misbehave", {
    description: "Make the loop misbehave",
    payload: { how: Param.literal(["hang", "raise", "exit", "segfault"]) }
  })
)

let server: Server.Handle
beforeAll(async () => {
  server = await Server.listen(
    { _tag: "Python", module: fixture("seed.py") },
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
  expect(started.status).toBe(200)
  const client = Client.connect(server, started.body.selected_transport.url + "?format=rgb")
  await client.next("sessionReady", 20_000)
  client.command("whoami", {})
  const whoami = await client.next((m) => m.scope === "application" && m.type === "whoami", 20_000)
  return { id: started.body.session_id as string, client, pid: whoami.data.pid as number, body: started.body }
}

const pixel = (client: Client) => [...client.frames.at(-1)!.payload.subarray(0, 3)]

/** Waits until the newest frame shows `rgb`. */
const untilPixel = async (client: Client, rgb: ReadonlyArray<number>) => {
  for (let i = 0; i < 400; i++) {
    await client.waitFrames(1, 20_000)
    if (JSON.stringify(pixel(client)) === JSON.stringify(rgb)) return
  }
  expect(pixel(client)).toEqual(rgb)
}

const stop = async (id: string) => {
  const stopped = await http(server, "POST", "/stop_session", { body: { session_id: id } })
  expect(stopped.status).toBe(200)
  return stopped.body.reason as string
}

const untilHealthy = async () => {
  for (let i = 0; i < 1200; i++) {
    const health = await http(server, "GET", "/health")
    if (health.body.status === "ok" && health.body.sessions === 0) return
    await sleep(25)
  }
  throw new Error("the Python model was not loaded again")
}

describe("a Python model served", () => {
  it("lists the capabilities of the equivalent TypeScript declaration", async () => {
    const { body, client, id } = await open()
    expect(body.model.name).toBe("python-seed")
    expect(body.capabilities.commands).toEqual(Capabilities.toReactor(Capabilities.ofGroup(equivalent)))
    expect(await stop(id)).toBe("stopped")
    await client.closed
  })

  it("applies commands in the Python methods (config from the @model file), and frames show them", async () => {
    const { client, id } = await open()
    await client.waitFrames(2, 20_000)
    expect(client.frames.at(-1)!.payload.length).toBe(64 * 48 * 3)
    client.command("set_color", { r: 200, g: 10, b: 30 }, "c1")
    const ack = await client.next("commandAck", 20_000)
    expect(ack.data).toMatchObject({ id: "c1", command: "set_color", frame: expect.any(Number) })
    await untilPixel(client, [200, 10, 30])
    client.command("move", { direction: "left", speed: 3 })
    const moved = await client.next((m) => m.scope === "application" && m.type === "moved", 20_000)
    expect(moved.data).toEqual({ direction: "left", speed: 3 })
    // A default from the Python signature is applied by the runtime's schema.
    client.command("set_color", { r: 7 }, "c2")
    await client.next("commandAck", 20_000)
    await untilPixel(client, [7, 0, 0])
    expect(await stop(id)).toBe("stopped")
    expect((await client.next("sessionEnded", 20_000)).data.reason).toBe("stopped")
  })

  it("answers bad commands exactly as the TypeScript model would; a raising method answers handler_failed", async () => {
    const { client, id } = await open()
    const bad: ReadonlyArray<{ type: string; data: unknown }> = [
      { type: "set_color", data: { r: 999 } },
      { type: "set_color", data: {} },
      { type: "set_color", data: { r: 1.5, g: "x" } },
      { type: "move", data: { direction: "up" } },
      { type: "move", data: { direction: "left", speed: 0 } },
      { type: "move", data: { direction: "left", extra: 1 } },
      { type: "fail", data: { x: 1 } },
      { type: "teleport", data: {} }
    ]
    for (const [index, incoming] of bad.entries()) {
      client.command(incoming.type, incoming.data, index)
      const error = await client.next((m) => m.type === "error" && m.data.id === index, 20_000)
      const expected = Mailbox.decode(equivalent, incoming)
      expect(Either.isLeft(expected)).toBe(true)
      if (Either.isLeft(expected)) expect(error.data).toEqual({ ...CommandError.toWire(expected.left), id: index })
    }
    client.command("fail", {}, "f")
    const failed = await client.next((m) => m.type === "error" && m.data.id === "f", 20_000)
    expect(failed.data).toMatchObject({ code: "handler_failed", command: "fail" })
    expect(failed.data.message).toBe("the handler of \"fail\" failed: ValueError: this command always fails")
    // The session goes on.
    client.command("set_color", { r: 9 }, "ok")
    expect((await client.next("commandAck", 20_000)).data.id).toBe("ok")
    await untilPixel(client, [9, 0, 0])
    expect(await stop(id)).toBe("stopped")
  })

  it("kills a loop that ignores should_stop() past the deadline (deadline_exceeded); the next session gets a fresh process", async () => {
    const first = await open()
    first.client.command("misbehave", { how: "hang" }, "h")
    await first.client.next("commandAck", 20_000)
    expect(await stop(first.id)).toBe("deadline_exceeded")
    await untilHealthy()
    const second = await open()
    expect(second.pid).not.toBe(first.pid)
    await second.client.waitFrames(2, 20_000)
    expect(await stop(second.id)).toBe("stopped")
  })

  it.each(
    [
      ["raise", "RuntimeError: the loop broke on purpose"],
      ["exit", "SystemExit: 3"],
      ["segfault", "SIGSEGV"]
    ] as const
  )("a loop that crashes (%s) ends model_failed with the reason; the model is started again", async (how, why) => {
    const first = await open()
    first.client.command("misbehave", { how })
    const ended = await first.client.next("sessionEnded", 30_000)
    expect(ended.data.reason).toBe("model_failed")
    expect(ended.data.message).toContain(why)
    await untilHealthy()
    const second = await open()
    expect(second.pid).not.toBe(first.pid)
    await second.client.waitFrames(2, 20_000)
    expect(await stop(second.id)).toBe("stopped")
  })
})

describe("a Python model that cannot load", () => {
  it("names the method and the parameter of an unsupported annotation", async () => {
    const failed = await Server.listen(
      { _tag: "Python", module: fixture("broken_schema.py") },
      { host: "127.0.0.1", port: 0 },
      undefined,
      logLevel
    ).then(() => undefined, (error: unknown) => error)
    expect(String((failed as Error)?.message ?? failed)).toContain(
      "command \"configure\" (Broken.configure), parameter \"options\": type dict is not supported"
    )
  })

  it("says why __init__ failed, with the traceback's last lines", async () => {
    const failed = await Server.listen(
      { _tag: "Python", module: fixture("broken_init.py") },
      { host: "127.0.0.1", port: 0 },
      undefined,
      logLevel
    ).then(() => undefined, (error: unknown) => error)
    expect(String((failed as Error)?.message ?? failed)).toContain("FileNotFoundError: weights.safetensors is missing")
  })

  it("picks the interpreter from the flag, then REACTOR_PYTHON, then python3", () => {
    const saved = process.env.REACTOR_PYTHON
    delete process.env.REACTOR_PYTHON
    expect(Python.interpreter()).toBe("python3")
    process.env.REACTOR_PYTHON = "/venv/bin/python"
    expect(Python.interpreter()).toBe("/venv/bin/python")
    expect(Python.interpreter("/other/python")).toBe("/other/python")
    if (saved === undefined) delete process.env.REACTOR_PYTHON
    else process.env.REACTOR_PYTHON = saved
  })
})

describe("a Python model on --workers 2", () => {
  it("runs two sessions at once, each in a process of its own", async () => {
    const two = await Server.listen(
      { _tag: "Python", module: fixture("seed.py"), workers: 2 },
      { host: "127.0.0.1", port: 0, maxSessions: 2, stopDeadlineMs: 1000 },
      undefined,
      logLevel
    )
    try {
      const pids: Array<number> = []
      const clients: Array<Client> = []
      for (let i = 0; i < 2; i++) {
        const started = await http(two, "POST", "/start_session", {
          body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
        })
        expect(started.status).toBe(200)
        const client = Client.connect(two, started.body.selected_transport.url + "?format=rgb")
        await client.next("sessionReady", 20_000)
        client.command("whoami", {})
        pids.push((await client.next((m) => m.type === "whoami", 20_000)).data.pid)
        clients.push(client)
      }
      expect(new Set(pids).size).toBe(2)
      await Promise.all(clients.map((client) => client.waitFrames(2, 20_000)))
      const third = await http(two, "POST", "/start_session", {
        body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
      })
      expect(third.status).not.toBe(200)
    } finally {
      await two.close()
    }
  }, 120_000)
})
