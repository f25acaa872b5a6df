/**
 * A live fuzz run against the socket: random and mutated messages, plus valid commands generated from the command
 * schemas. The server must answer each one as the protocol says, in order (runtime messages at once, the rest in turn; checked against an oracle written from
 * docs/PROTOCOL.md and the fixture's declarations, sharing no code with the server), and keep the session streaming.
 */
import { Arbitrary, FastCheck as fc, type Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
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
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "{\"scope\":\"runtime\",\"data\":{\"type\":\"ping\"}}",
      "{\"scope\":\"runtime\",\"data\":{\"type\":\"requestCapabilities\"}}"
    )
  },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string() },
  // nesting around the limit, ids JSON cannot carry back, ids too long
  {
    weight: 1,
    arbitrary: fc.integer({ min: 28, max: 36 }).map((d) =>
      `{"type":"echo","data":${"[".repeat(d)}${"]".repeat(d)},"id":"n"}`
    )
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "{\"scope\":\"application\",\"data\":{\"type\":\"set_color\",\"data\":{\"r\":1},\"id\":1e999}}",
      `{"scope":"application","data":{"type":"set_color","data":{"r":1},"id":"${"i".repeat(300)}"}}`
    )
  },
  {
    weight: 2,
    arbitrary: fc.tuple(validCommand.map((m) => JSON.stringify(m)), fc.nat(), fc.string({ maxLength: 2 })).map(
      ([t, at, chars]) => t.slice(0, at % t.length) + chars + t.slice((at % t.length) + 1)
    )
  }
)

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const depthOf = (u: unknown): number =>
  typeof u === "object" && u !== null ? 1 + Math.max(0, ...Object.values(u).map(depthOf)) : 0

const isInt = (u: unknown, min: number, max: number) =>
  typeof u === "number" && Number.isInteger(u) && u >= min && u <= max

/** Whether a payload is valid for a fixture command, written from the fixture's declarations (not its schemas). */
const validPayload: Record<string, (data: Record<string, unknown>) => boolean> = {
  set_color: (d) =>
    Object.keys(d).every((k) => ["r", "g", "b"].includes(k)) && isInt(d.r, 0, 255) &&
    (!("g" in d) || isInt(d.g, 0, 255)) && (!("b" in d) || isInt(d.b, 0, 255)),
  echo: (d) => Object.keys(d).every((k) => k === "text") && typeof d.text === "string" && d.text.length <= 1000,
  fail: (d) => Object.keys(d).length === 0
}

const validId = (id: unknown) =>
  (typeof id === "string" && id.length <= 256) || (typeof id === "number" && Number.isFinite(id))

/**
 * The runtime messages a text earns, in order (model messages in scope application are not counted): an oracle
 * written from docs/PROTOCOL.md, independent of the server's decoders.
 */
const expected = (message: string): ReadonlyArray<string> | "skip" => {
  if (Buffer.byteLength(message) > limit) return ["error:message_too_large"]
  let value: unknown
  try {
    value = JSON.parse(message)
  } catch {
    return ["error:invalid_json"]
  }
  if (depthOf(value) > 32) return ["error:nesting_too_deep"]
  if (!isObject(value)) return ["error:invalid_envelope"]
  const enveloped = "scope" in value || (!("type" in value) && isObject(value.data))
  const inner = enveloped ? value.data : value
  if (enveloped && !(value.scope === undefined || value.scope === "application" || value.scope === "runtime")) {
    return ["error:invalid_envelope"]
  }
  if (!isObject(inner) || typeof inner.type !== "string" || inner.type.length < 1 || inner.type.length > 256) {
    return ["error:invalid_envelope"]
  }
  if ("id" in inner && !validId(inner.id)) return ["error:invalid_envelope"]
  if (enveloped && value.scope === "runtime") {
    if (inner.type === "ping") return ["pong"]
    if (inner.type === "requestCapabilities") return ["modelCapabilities"]
    if (inner.type === "stop") return "skip"
    return ["error:invalid_envelope"]
  }
  if (inner.type === "sleep" || inner.type === "end") return "skip"
  const check = validPayload[inner.type]
  if (check === undefined) return ["error:unknown_command"]
  const data = inner.data === undefined || inner.data === null ? {} : inner.data
  if (!isObject(data) || !check(data)) return ["error:invalid_payload"]
  if (inner.type === "fail") return ["error:handler_failed"]
  return inner.id === undefined ? [] : ["commandAck"]
}

describe("server: live fuzz", () => {
  let server: Server.Handle
  beforeAll(async () => {
    // budgets high enough for the burst: the rate limits have tests of their own
    server = await startServer({
      statsIntervalMs: 60_000,
      maxCommandsPerSecond: 10_000,
      commandBurst: 10_000,
      maxMessagesPerSecond: 10_000
    })
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
    // Runtime messages are answered at once, the rest in turn: each kind keeps its order.
    const immediate = (answer: string) => answer === "pong" || answer === "modelCapabilities"
    expect(got().filter(immediate)).toEqual(want.filter(immediate))
    expect(got().filter((answer) => !immediate(answer))).toEqual(want.filter((answer) => !immediate(answer)))
    await client.waitFrames(2)
    await client.close()
  })
})
