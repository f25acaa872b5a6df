/**
 * The request gate's pure parts: the token check, CORS origins, version headers.
 */
import { describe, expect, it } from "vitest"
import * as ServerConfig from "../../src/config/ServerConfig.js"
import * as Auth from "../../src/http/Auth.js"
import * as Cors from "../../src/http/Cors.js"
import * as VersionCheck from "../../src/http/VersionCheck.js"

const q = (s = "") => new URLSearchParams(s)

describe("Auth.check", () => {
  it("lets everything through without a token", () => {
    expect(Auth.check(undefined, undefined, q())).toBeUndefined()
    expect(Auth.check(undefined, "Bearer local", q())).toBeUndefined()
  })
  it("needs the token as a bearer header or ?token=", () => {
    expect(Auth.check("t0k", "Bearer t0k", q())).toBeUndefined()
    expect(Auth.check("t0k", "bearer   t0k", q())).toBeUndefined()
    expect(Auth.check("t0k", undefined, q("token=t0k"))).toBeUndefined()
    expect(Auth.check("t0k", undefined, q())?.body).toMatchObject({
      code: "unauthorized",
      message: expect.stringContaining("Bearer")
    })
    expect(Auth.check("t0k", "Bearer t0", q())?.body.message).toBe("the token is wrong")
    expect(Auth.check("t0k", "Basic dDBr", q())?.status).toBe(401)
  })
  it("takes a session's ticket on that session's sockets only, never in place of the token elsewhere", () => {
    const ticket = Auth.ticket("t0k", "session-a")
    expect(ticket).not.toContain("t0k")
    expect(Auth.ticket("t0k", "session-a")).toBe(ticket)
    expect(Auth.ticket("other", "session-a")).not.toBe(ticket)
    expect(Auth.check("t0k", undefined, q(`token=${ticket}`), "session-a")).toBeUndefined()
    expect(Auth.check("t0k", `Bearer ${ticket}`, q(), "session-a")).toBeUndefined()
    expect(Auth.check("t0k", undefined, q(`token=${ticket}`), "session-b")?.status).toBe(401)
    expect(Auth.check("t0k", undefined, q(`token=${ticket}`))?.status).toBe(401)
    expect(Auth.check("t0k", undefined, q("token=t0k"), "session-b")).toBeUndefined()
  })
})

describe("Cors.allowed", () => {
  it("allows no origin, loopback origins, the same origin and listed ones", () => {
    expect(Cors.allowed(undefined, "example.com", [])).toBe(true)
    expect(Cors.allowed("http://localhost:5173", "example.com", [])).toBe(true)
    expect(Cors.allowed("http://127.0.0.1", "example.com", [])).toBe(true)
    expect(Cors.allowed("https://example.com", "example.com", [])).toBe(true)
    expect(Cors.allowed("https://app.example", "example.com", ["https://app.example"])).toBe(true)
    expect(Cors.allowed("https://anything.example", "example.com", ["*"])).toBe(true)
  })
  it("refuses other origins, look-alikes and garbage", () => {
    expect(Cors.allowed("https://evil.example", "example.com", [])).toBe(false)
    expect(Cors.allowed("http://localhost.evil.example", "example.com", [])).toBe(false)
    expect(Cors.allowed("null", "example.com", [])).toBe(false)
  })
})

describe("VersionCheck.check", () => {
  it("accepts version 1 or no header, answers 426 / 501 / 400 otherwise", () => {
    expect(VersionCheck.check({})).toBeUndefined()
    expect(VersionCheck.check({ "reactor-api-version": "1", "reactor-api-accept-version": "1" })).toBeUndefined()
    expect(VersionCheck.check({ "reactor-api-version": "0" })?.status).toBe(426)
    expect(VersionCheck.check({ "reactor-api-accept-version": "2" })?.status).toBe(501)
    expect(VersionCheck.check({ "reactor-api-version": "1.5" })?.status).toBe(400)
  })
})

describe("ServerConfig.withEnv", () => {
  it("takes unset settings from REACTOR_* variables; explicit ones win", async () => {
    const { Effect } = await import("effect")
    const saved = { ...process.env }
    try {
      process.env.REACTOR_GRACE_MS = "1234"
      process.env.REACTOR_IDLE_TIMEOUT_MS = "99"
      process.env.REACTOR_CORS = "https://a.example, https://b.example"
      const input = await Effect.runPromise(ServerConfig.withEnv({ port: 0, idleTimeoutMs: 5, graceMs: undefined }))
      expect(input).toEqual({
        port: 0,
        graceMs: 1234,
        idleTimeoutMs: 5,
        cors: ["https://a.example", "https://b.example"]
      })
      process.env.REACTOR_GRACE_MS = "soon"
      await expect(Effect.runPromise(ServerConfig.withEnv({}))).rejects.toThrow(/REACTOR_GRACE_MS/)
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key]
      Object.assign(process.env, saved)
    }
  })
})

describe("ServerConfig.make", () => {
  it("fills in the defaults and reads REACTOR_TOKEN", () => {
    const saved = process.env.REACTOR_TOKEN
    try {
      process.env.REACTOR_TOKEN = "from-env"
      const config = ServerConfig.make({ port: 0, graceMs: undefined })
      expect(config).toMatchObject({ port: 0, graceMs: 30_000, maxMessageBytes: 256 * 1024, token: "from-env" })
      expect(ServerConfig.make({ token: "given" }).token).toBe("given")
      process.env.REACTOR_TOKEN = ""
      expect(ServerConfig.make().token).toBeUndefined()
    } finally {
      if (saved === undefined) delete process.env.REACTOR_TOKEN
      else process.env.REACTOR_TOKEN = saved
    }
  })
})
