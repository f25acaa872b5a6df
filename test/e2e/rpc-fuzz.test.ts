/**
 * A live fuzz run against the RPC transport's decoder, as test/e2e/fuzz.test.ts does for the WebSocket: random and
 * mutated `@effect/rpc` client messages (well-formed requests among them), one or several to a WebSocket message, then
 * random bytes. Each value must earn exactly the answer docs/PROTOCOL.md promises (checked against an oracle written
 * from the protocol and the fixture's declarations, sharing no code with the server), and the connection must go on
 * serving: a last request is answered and the frame stream opened first still streams.
 */
import { FastCheck as fc } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { sleep, startServer, startSession } from "./helpers.js"
import { RawRpc, type Response } from "./RawRpc.js"

const isMap = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Uint8Array)

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

/** The RPCs the fixture's session serves (its commands and the runtime's frame stream). */
const served = new Set(["set_color", "echo", "fail", "sleep", "end", "reactor.frames"])

/** A request id as docs/PROTOCOL.md describes it: a decimal integer string, no sign or leading zero, <= 39 digits. */
const validId = (id: unknown) =>
  typeof id === "string" && id.length >= 1 && id.length <= 39 && /^[0-9]+$/.test(id) && (id === "0" || id[0] !== "0")

const validHeaders = (h: unknown) =>
  Array.isArray(h) && h.length <= 64 &&
  h.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((x) => typeof x === "string"))

/** What one value earns: nothing, a pong, a connection-level refusal, or an answer on its request id. */
type Expected =
  | { readonly _tag: "None" }
  | { readonly _tag: "Pong" }
  | { readonly _tag: "Defect" }
  | { readonly _tag: "Exit"; readonly id: string; readonly answer: string }

const expected = (value: unknown): Expected => {
  if (!isMap(value)) return { _tag: "Defect" }
  switch (value._tag) {
    case "Ping":
      return { _tag: "Pong" }
    case "Ack":
    case "Interrupt":
      // ids of no request of this run: nothing to acknowledge or interrupt
      return validId(value.requestId) ? { _tag: "None" } : { _tag: "Defect" }
    case "Request": {
      const id = value.id
      if (!validId(id)) return { _tag: "Defect" }
      const exit = (answer: string): Expected => ({ _tag: "Exit", id: id as string, answer })
      const tag = value.tag
      if (typeof tag !== "string" || tag.length > 256 || !validHeaders(value.headers)) {
        return exit("invalid_rpc_message")
      }
      if (!served.has(tag)) return exit("invalid_rpc_message")
      const data = value.payload === undefined || value.payload === null ? {} : value.payload
      if (!isMap(data) || !validPayload[tag]!(data)) return exit("invalid_payload")
      return exit(tag === "fail" ? "handler_failed" : "ack")
    }
    default:
      return { _tag: "Defect" }
  }
}

/** How the server answered a request. */
const answerOf = (exit: Response): string =>
  exit.exit._tag === "Success"
    ? "ack"
    : exit.exit.cause?._tag === "Fail"
    ? String(exit.exit.cause.error?.code)
    : `cause:${exit.exit.cause?._tag}`

/** Request ids come from a counter (an id in flight cannot be reused); Ack and Interrupt ids from another range. */
let nextId = 1
const requestId = () => String(nextId++)

const payload = fc.oneof(
  fc.record({ r: fc.integer({ min: -5, max: 260 }), g: fc.integer({ min: 0, max: 255 }) }, { requiredKeys: ["r"] }),
  fc.record({ text: fc.string({ maxLength: 20 }) }),
  fc.constant({}),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 })
)

const badId = fc.oneof(
  fc.constantFrom("abc", "1.5", "01", "-1", " 1", "", "1e3", "0x10", "9".repeat(40)),
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.constant(null)
)

/** A request, often well-formed, sometimes with one field broken. */
const request = fc.record({
  id: fc.oneof({ weight: 5, arbitrary: fc.constant("fresh") }, { weight: 1, arbitrary: badId }),
  tag: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("set_color", "echo", "fail") },
    { weight: 1, arbitrary: fc.constantFrom("launch", "reactor.nope", "x".repeat(300)) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.string({ maxLength: 4 })) }
  ),
  payload,
  headers: fc.oneof(
    { weight: 6, arbitrary: fc.constant([]) },
    {
      weight: 1,
      arbitrary: fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })), { maxLength: 2 })
    },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constant("nope"), fc.constant([["a", 1]]), fc.constant([["a"]]), fc.constant({}))
    }
  ),
  extra: fc.option(fc.constantFrom("traceId", "requestId", "spanId"), { nil: undefined }),
  drop: fc.option(fc.constantFrom("id", "tag", "headers", "payload"), { nil: undefined })
}).map(({ drop, extra, ...fields }) => {
  const value: Record<string, unknown> = { _tag: "Request", ...fields }
  if (extra !== undefined) value[extra] = "x"
  if (drop !== undefined) delete value[drop]
  return value
})

const other = fc.oneof(
  fc.record({
    _tag: fc.constantFrom("Ack", "Interrupt"),
    requestId: fc.oneof(fc.nat({ max: 1000 }).map((n) => String(900_000 + n)), badId)
  }, { requiredKeys: ["_tag"] }),
  fc.constant({ _tag: "Ping" }),
  fc.record({ _tag: fc.oneof(fc.constantFrom("Eof", "Exit", "Chunk", "ping", ""), fc.integer()) }),
  fc.jsonValue({ maxDepth: 2 })
)

const value: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: request }, { weight: 1, arbitrary: other })

/** A message: one value, or a few in a row. */
const message = fc.array(value, { minLength: 1, maxLength: 4 })

describe("server: live fuzz of the RPC transport", () => {
  let server: Server.Handle
  beforeAll(async () => {
    // budgets high enough for the burst: the rate limits have tests of their own
    server = await startServer({
      statsIntervalMs: 60_000,
      maxCommandsPerSecond: 10_000,
      commandBurst: 10_000,
      maxMessagesPerSecond: 10_000,
      maxSessions: 4
    })
  })
  afterAll(() => server.close())

  it("answers 400 random, mutated and valid messages exactly as the protocol says, and goes on serving", async () => {
    const session = await startSession(server)
    const rpc = await RawRpc.open(server, session.session_id)
    try {
      rpc.send(RawRpc.request("0", "reactor.frames", {}))
      await rpc.waitFor((r) => r._tag === "Chunk" && r.requestId === "0")

      const exits = new Map<string, string>()
      let defects = 0
      let pongs = 0
      for (const values of fc.sample(message, { numRuns: 400, seed: 15 })) {
        const sent = values.map((
          v
        ) => (isMap(v) && v._tag === "Request" && v.id === "fresh" ? { ...v, id: requestId() } : v))
        for (const v of sent) {
          const e = expected(v)
          if (e._tag === "Defect") defects++
          else if (e._tag === "Pong") pongs++
          else if (e._tag === "Exit") exits.set(e.id, e.answer)
        }
        rpc.send(...sent)
      }
      // every kind of answer is exercised
      const kinds = new Set(exits.values())
      for (const kind of ["ack", "invalid_rpc_message", "invalid_payload", "handler_failed"]) {
        expect(kinds).toContain(kind)
      }
      expect(defects).toBeGreaterThan(10)
      expect(pongs).toBeGreaterThan(0)
      const last = requestId()
      rpc.send(RawRpc.request(last, "set_color", { r: 1 }))
      exits.set(last, "ack")

      const got = () => rpc.responses.filter((r) => r._tag === "Exit" && r.requestId !== "0")
      const deadline = Date.now() + 30_000
      while (got().length < exits.size && Date.now() < deadline) await sleep(50)
      const answers = new Map(got().map((r) => [r.requestId as string, answerOf(r)]))
      expect(got()).toHaveLength(exits.size)
      expect(answers).toEqual(exits)
      const refusals = rpc.responses.filter((r) => r._tag === "Defect")
      expect(refusals.length).toBe(defects)
      for (const refusal of refusals) expect(refusal.defect).toMatchObject({ code: "invalid_rpc_message" })
      expect(rpc.responses.filter((r) => r._tag === "Pong").length).toBe(pongs)

      // the frame stream opened first is still streaming
      const chunks = () => rpc.responses.filter((r) => r._tag === "Chunk").length
      const before = chunks()
      expect(await rpc.waitFor(() => chunks() >= before + 2)).toBeDefined()
      expect(rpc.isClosed).toBe(false)
    } finally {
      rpc.close()
    }
  }, 60_000)

  it("random bytes are refused message by message, and the connection goes on serving", async () => {
    const session = await startSession(server)
    const rpc = await RawRpc.open(server, session.session_id)
    try {
      for (const bytes of fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), { numRuns: 300, seed: 15 })) {
        rpc.ws.send(bytes)
      }
      rpc.send(RawRpc.request("1", "set_color", { r: 2 }))
      expect((await rpc.exitOf("1", 30_000)).exit._tag).toBe("Success")
      for (const refusal of rpc.responses.filter((r) => r._tag === "Defect")) {
        expect(refusal.defect).toMatchObject({ code: "invalid_rpc_message" })
      }
      expect(rpc.isClosed).toBe(false)
    } finally {
      rpc.close()
    }
  }, 60_000)
})
