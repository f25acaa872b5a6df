/**
 * Session ids: what the runtime makes is what a client can name, and text that no id can be is refused before any
 * lookup (so a request naming it answers `session_not_found`).
 */
import { FastCheck as fc, Option } from "effect"
import { describe, expect, it } from "vitest"
import * as SessionId from "../../src/protocol/SessionId.js"

describe("SessionId", () => {
  it("makes distinct ids that a client can send back", () => {
    const ids = Array.from({ length: 1000 }, () => SessionId.make())
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(SessionId.fromClient(id)).toEqual(Option.some(id))
  })

  it("refuses text that no session id can be", () => {
    for (const raw of ["", "..", "../info", "a/b", "a b", "é", "x".repeat(129), "%2e"]) {
      expect(SessionId.fromClient(raw)).toEqual(Option.none())
    }
  })

  it("takes any base64url text of 1 to 128 characters, and nothing else", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,130}$/)), (raw) => {
        const valid = raw.length >= 1 && raw.length <= 128 && [...raw].every((c) => alphabet.includes(c))
        expect(Option.isSome(SessionId.fromClient(raw))).toBe(valid)
      })
    )
  })
})
