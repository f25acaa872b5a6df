/**
 * A live fuzz run against the socket: random and mutated messages, plus valid commands generated from the command
 * schemas. The server must answer each one as the protocol says, in order (checked against an oracle built from
 * the envelope decoder and the mailbox's command decoder), and keep the session streaming.
 */
import { Arbitrary, Either, FastCheck as fc, type Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Envelope from "../../src/protocol/Envelope.js"
import type * as Server from "../../src/server/Server.js"
import * as Mailbox from "../../src/session/Mailbox.js"
import { Commands } from "../fixtures/server-model.js"
import { connect, startServer } from "./helpers.js"

const limit = 256 * 1024

const payloadOf = (name: string) =>
  Arbitrary.make((Commands.requests.get(name) as any).payloadSchema as Schema.Schema<unknown, unknown>)

/** Valid commands of the fixture (no `sleep`: its handler takes time), some with an id. */
const validCommand = fc.oneof(
  fc.record({ type: fc.constant("set_color"), data: payloadOf("set_color") }),
  fc.record({ type: fc.constant("echo"), data: payloadOf("echo") }),
  fc.record({ type: fc.constant("fail"), data: fc.constant({}) })
).chain((inner) =>
  fc.option(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { nil: undefined }).map((id) => ({
    scope: "application",
    data: { ...inner, ...(id !== undefined ? { id } : {}) }
  }))
)

const text = fc.oneof(
  { weight: 3, arbitrary: validCommand.map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: fc.constantFrom('{"scope":"runtime","data":{"type":"ping"}}', '{"scope":"runtime","data":{"type":"requestCapabilities"}}') },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string() },
  {
    weight: 2,
    arbitrary: fc.tuple(validCommand.map((m) => JSON.stringify(m)), fc.nat(), fc.string({ maxLength: 2 })).map(
      ([t, at, chars]) => t.slice(0, at % t.length) + chars + t.slice((at % t.length) + 1)
    )
  }
)

/** The runtime messages a text earns, in order (model messages in scope application are not counted). */
const expected = (message: string): ReadonlyArray<string> | "skip" => {
  const decoded = Envelope.decodeText(message, limit)
  if (Either.isLeft(decoded)) return [`error:${decoded.left.code}`]
  const m = decoded.right
  switch (m._tag) {
    case "Ping":
      return ["pong"]
    case "RequestCapabilities":
      return ["modelCapabilities"]
    case "Stop":
      return "skip"
    case "Command": {
      const command = Mailbox.decode(Commands, { type: m.type, data: m.data, id: m.id })
      if (Either.isLeft(command)) return [`error:${command.left.code}`]
      if (command.right.rpc._tag === "sleep" || command.right.rpc._tag === "end") return "skip"
      if (command.right.rpc._tag === "fail") return ["error:handler_failed"]
      return m.id === undefined ? [] : ["commandAck"]
    }
  }
}

describe("server: live fuzz", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ statsIntervalMs: 60_000 })
  })
  afterAll(() => server.close())

  it("answers 600 random, mutated and valid messages exactly as the protocol says, in order", async () => {
    const { client } = await connect(server)
    const messages = fc.sample(text, { numRuns: 600, seed: 42 })
    const want: Array<string> = []
    for (const message of messages) {
      const answers = expected(message)
      if (answers === "skip") continue
      want.push(...answers)
      client.send(message)
    }
    client.runtime("ping")
    want.push("pong")
    const got = () =>
      client.texts
        .filter((t) => t.scope === "runtime" && t.type !== "sessionReady" && t.type !== "stats")
        .map((t) => (t.type === "error" ? `error:${t.data.code}` : t.type))
    const deadline = Date.now() + 20_000
    while (got().length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(got()).toEqual(want)
    await client.waitFrames(2)
    await client.close()
  })
})
