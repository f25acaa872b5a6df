/**
 * The envelope decoder, fuzzed: thousands of random strings, random JSON values, valid envelopes and mutations of
 * valid messages. Nothing throws; each input is classified exactly as the protocol says (an independent oracle).
 */
import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import * as Envelope from "../../src/protocol/Envelope.js"
import * as WireError from "../../src/protocol/WireError.js"

const limit = 256 * 1024
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** What the protocol says a parsed message is: a message kind, or the error code it earns. */
const oracle = (value: unknown): string => {
  if (!isObject(value)) return "error:invalid_envelope"
  const enveloped = "scope" in value || (!("type" in value) && isObject(value.data))
  const scope = enveloped ? (value.scope === undefined ? "application" : value.scope) : "application"
  const inner = enveloped ? value.data : value
  if (scope !== "application" && scope !== "runtime") return "error:invalid_envelope"
  if (!isObject(inner) || typeof inner.type !== "string" || inner.type.length === 0 || inner.type.length > 256) {
    return "error:invalid_envelope"
  }
  if ("id" in inner && typeof inner.id !== "string" && typeof inner.id !== "number") return "error:invalid_envelope"
  if (scope === "application") return `Command:${inner.type}`
  if (inner.type === "ping") return "Ping"
  if (inner.type === "requestCapabilities") return "RequestCapabilities"
  if (inner.type === "stop") return "Stop"
  return "error:invalid_envelope"
}

const classify = (result: Either.Either<Envelope.ClientMessage, WireError.WireError>): string =>
  Either.isLeft(result)
    ? `error:${result.left.code}`
    : result.right._tag === "Command"
    ? `Command:${result.right.type}`
    : result.right._tag

const types = fc.oneof(
  fc.constantFrom("ping", "requestCapabilities", "stop", "set_color", "echo", "", "x".repeat(300)),
  fc.string()
)
const scopes = fc.oneof(fc.constantFrom("application", "runtime", undefined, null, "Runtime"), fc.jsonValue())
const ids = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(null),
  fc.jsonValue()
)

/** Messages shaped like envelopes, valid or nearly so. */
const envelopes = fc.record(
  {
    scope: scopes,
    data: fc.oneof(
      fc.record({ type: types, data: fc.jsonValue(), id: ids }, { requiredKeys: ["type"] }),
      fc.record({ type: types, data: fc.jsonValue(), id: ids }, { requiredKeys: [] }),
      fc.jsonValue()
    ),
    type: types
  },
  { requiredKeys: ["data"] }
).map((value) => JSON.parse(JSON.stringify(value)) as unknown)

/** A valid message with some random edits: dropped, inserted, replaced characters and truncation. */
const mutated = fc.tuple(
  envelopes.map((value) => JSON.stringify(value)),
  fc.array(
    fc.tuple(fc.nat(), fc.constantFrom("delete", "insert", "replace", "truncate"), fc.string({ maxLength: 3 })),
    { minLength: 1, maxLength: 4 }
  )
).map(([text, edits]) =>
  edits.reduce((acc, [at, kind, chars]) => {
    const i = acc.length === 0 ? 0 : at % acc.length
    switch (kind) {
      case "delete":
        return acc.slice(0, i) + acc.slice(i + 1)
      case "insert":
        return acc.slice(0, i) + chars + acc.slice(i)
      case "replace":
        return acc.slice(0, i) + chars + acc.slice(i + chars.length)
      default:
        return acc.slice(0, i)
    }
  }, text)
)

describe("Envelope.decodeText", () => {
  it("never throws on random text, and rejects non-JSON with invalid_json", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.fullUnicodeString(), fc.string({ maxLength: 2000 })), (text) => {
        const result = Envelope.decodeText(text, limit)
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          expect(classify(result)).toBe("error:invalid_json")
          return
        }
        expect(classify(result)).toBe(oracle(parsed))
      }),
      { numRuns: 3000 }
    )
  })

  it("classifies random JSON values and envelope-shaped values exactly as the protocol says", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), envelopes), (value) => {
        expect(classify(Envelope.decodeText(JSON.stringify(value), limit))).toBe(oracle(value))
      }),
      { numRuns: 4000 }
    )
  })

  it("mutated messages are answered (an error code) or decoded, never a crash", () => {
    fc.assert(
      fc.property(mutated, (text) => {
        const result = Envelope.decodeText(text, limit)
        if (Either.isLeft(result)) {
          expect(["invalid_json", "invalid_envelope"]).toContain(result.left.code)
          expect(result.left.message.length).toBeGreaterThan(0)
        } else {
          expect(classify(result)).toBe(oracle(JSON.parse(text)))
        }
      }),
      { numRuns: 3000 }
    )
  })

  it("round-trips valid application envelopes: type, data and id come through untouched", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 256 }),
        fc.jsonValue(),
        fc.option(fc.oneof(fc.string(), fc.integer()), { nil: undefined }),
        fc.boolean(),
        (type, data, id, withScope) => {
          const inner = { type, data, ...(id !== undefined ? { id } : {}) }
          const message = withScope ? { scope: "application", data: inner } : inner
          const result = Envelope.decodeText(JSON.stringify(message), limit)
          expect(Either.getOrThrow(result)).toEqual({ _tag: "Command", ...JSON.parse(JSON.stringify(inner)) })
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("answers message_too_large over the limit, with the size and the limit", () => {
    const text = JSON.stringify({ data: { type: "echo", data: { text: "x".repeat(1000) } } })
    const result = Envelope.decodeText(text, 500)
    expect(Either.isLeft(result) && result.left.toWire()).toMatchObject({
      code: "message_too_large",
      size: text.length,
      limit: 500,
      message: expect.stringContaining("limit is 500 bytes")
    })
  })

  it("names the field and the expectation in invalid_envelope", () => {
    const result = Envelope.decodeText(JSON.stringify({ scope: "runtime", data: { type: 3 } }), limit)
    expect(Either.isLeft(result) && result.left.toWire()).toMatchObject({
      code: "invalid_envelope",
      issues: [{ path: "data.type", message: expect.stringContaining("string") }]
    })
  })
})

describe("Envelope encoders", () => {
  it("wraps model messages without a type as {type: message}", () => {
    expect(JSON.parse(Envelope.application({ type: "hello", n: 1 }))).toEqual({
      scope: "application",
      data: { type: "hello", n: 1 }
    })
    expect(JSON.parse(Envelope.application([1, 2]))).toEqual({
      scope: "application",
      data: { type: "message", data: [1, 2] }
    })
    expect(JSON.parse(Envelope.error(WireError.make("x", "y", { a: 1 })))).toEqual({
      scope: "runtime",
      data: { type: "error", data: { code: "x", message: "y", a: 1 } }
    })
  })
})

describe("Envelope limits", () => {
  it("refuses nesting beyond the limit with nesting_too_deep, naming the command's id", () => {
    const deep = (d: number) => "[".repeat(d) + "]".repeat(d)
    const ok = Envelope.decodeText(`{"type":"a","data":${deep(30)}}`, 1 << 20, 32)
    expect(Either.isRight(ok)).toBe(true)
    const refused = Envelope.decodeText(
      `{"scope":"application","data":{"type":"a","id":5,"data":${deep(40)}}}`,
      1 << 20,
      32
    )
    expect(Either.isLeft(refused) && refused.left.toWire()).toMatchObject({
      code: "nesting_too_deep",
      limit: 32,
      id: 5,
      command: "a"
    })
    const huge = Envelope.decodeText(`{"type":"a","data":${deep(200_000)}}`, 1 << 20, 32)
    expect(Either.isLeft(huge) && huge.left.code).toBe("nesting_too_deep")
    expect(Envelope.textTooDeep(`{"s":"[[[[[[[["}`, 2)).toBe(false)
    expect(Envelope.textTooDeep(`[[["\\"]"]]]`, 2)).toBe(true)
    expect(Envelope.valueTooDeep({ a: [{ b: [] }] }, 4)).toBe(false)
    expect(Envelope.valueTooDeep({ a: [{ b: [[]] }] }, 4)).toBe(true)
    expect(Envelope.valueTooDeep(new Uint8Array(10), 0)).toBe(false)
  })

  it("refuses ids that cannot be echoed: non-finite numbers, strings over 256 characters", () => {
    for (const id of ["1e999", "-1e999", JSON.stringify("x".repeat(257))]) {
      const decoded = Envelope.decodeText(`{"scope":"application","data":{"type":"a","id":${id}}}`, 1 << 20)
      expect(Either.isLeft(decoded) && decoded.left.code, id.slice(0, 10)).toBe("invalid_envelope")
    }
    const fine = Envelope.decodeText(`{"scope":"application","data":{"type":"a","id":1e300}}`, 1 << 20)
    expect(Either.isRight(fine) && fine.right).toMatchObject({ _tag: "Command", id: 1e300 })
  })

  it("cuts an error reply to its size bound, keeping code, id and command", () => {
    const issues = Array.from({ length: 50 }, (_, i) => ({ path: `f${i}`, message: "x".repeat(10_000) }))
    const body = { code: "invalid_payload", message: "y".repeat(100_000), issues, id: "the-id", command: "set" }
    const bounded = Envelope.boundError(body, 4096)
    expect(Buffer.byteLength(JSON.stringify(bounded))).toBeLessThanOrEqual(4096)
    expect(bounded).toMatchObject({
      code: "invalid_payload",
      id: "the-id",
      command: "set",
      truncated: true,
      issues_omitted: 42
    })
    const small = { code: "rate_limited", message: "short" }
    expect(Envelope.boundError(small, 4096)).toBe(small)
    expect(Buffer.byteLength(Envelope.error(body, 4096))).toBeLessThan(4096 + 100)
  })
})
