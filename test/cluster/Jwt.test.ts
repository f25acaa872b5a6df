import { describe, expect, it } from "vitest"
import * as Jwt from "../../src/cluster/Jwt.js"

const secret = "a-secret-of-some-length"

describe("Jwt (HS256)", () => {
  it("accepts a token it signed, with its claims", () => {
    const token = Jwt.sign({ sub: "app", exp: 2_000 }, secret)
    expect(Jwt.verify(token, secret, 1_000)).toEqual({ claims: { sub: "app", exp: 2_000 } })
  })

  it("refuses a wrong signature, a tampered body, another algorithm, an expired or early token, and garbage", () => {
    const token = Jwt.sign({ sub: "app" }, secret)
    expect(Jwt.verify(token, "another-secret")).toEqual({ error: "the token's signature does not match" })
    const [head, , signature] = token.split(".")
    const tampered = `${head}.${Buffer.from(JSON.stringify({ sub: "admin" })).toString("base64url")}.${signature}`
    expect(Jwt.verify(tampered, secret)).toEqual({ error: "the token's signature does not match" })
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${token.split(".")[1]}.`
    expect(Jwt.verify(none, secret)).toEqual({ error: "the token is signed with none; this coordinator takes HS256" })
    expect(Jwt.verify(Jwt.sign({ exp: 999 }, secret), secret, 1_000)).toEqual({ error: "the token has expired" })
    expect(Jwt.verify(Jwt.sign({ nbf: 1_001 }, secret), secret, 1_000)).toEqual({ error: "the token is not valid yet" })
    expect(Jwt.verify("local", secret)).toEqual({ error: "the token is not a JWT (three dot-separated parts)" })
    expect(Jwt.verify("a.b.c", secret)).toEqual({ error: "the token's header is not JSON" })
  })
})
