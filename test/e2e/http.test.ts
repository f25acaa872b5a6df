/**
 * The HTTP endpoints against the server in-process on port 0: Reactor's session shapes, capabilities, health, the
 * session limit, version headers, CORS, the page, the rpc mount point, and the token.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { http, startServer, startSession } from "./helpers.js"

describe("server: HTTP endpoints", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 2, graceMs: 5_000 })
  })
  afterAll(() => server.close())

  it("GET /health reports the model and the sessions", async () => {
    const answer = await http(server, "GET", "/health")
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      status: "ok",
      model: { name: "server-fixture", version: "1" },
      sessions: 0,
      max_sessions: 2
    })
  })

  it("GET /capabilities gives Reactor's shape and a full JSON Schema per command", async () => {
    const answer = await http(server, "GET", "/capabilities")
    expect(answer.status).toBe(200)
    expect(answer.body.protocol_version).toBe("1")
    expect(answer.body.tracks).toEqual([{ name: "main_video", kind: "video", direction: "recvonly" }])
    const setColor = answer.body.commands.find((c: any) => c.name === "set_color")
    expect(setColor.schema.r).toMatchObject({ type: "integer", minimum: 0, maximum: 255, required: true })
    expect(setColor.json_schema).toMatchObject({ type: "object", required: ["r"], additionalProperties: false })
    expect(setColor.json_schema.properties.g).toMatchObject({ type: "integer", default: 0 })
  })

  it("POST /start_session answers Reactor's session response; info, stop_session and DELETE work", async () => {
    const answer = await http(server, "POST", "/start_session", {
      body: { extra_args: { a: 1 }, supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    expect(answer.status).toBe(200)
    const body = answer.body
    expect(body).toMatchObject({
      state: "running",
      cluster: "local",
      model: { name: "server-fixture", version: "1" },
      server_info: { server_version: expect.any(String) },
      selected_transport: {
        protocol: "websocket",
        version: "1",
        url: `/sessions/${body.session_id}/transport/websocket`
      },
      capabilities: {
        protocol_version: "1",
        tracks: [{ name: "main_video", kind: "video", direction: "recvonly" }],
        emission_fps: null
      }
    })
    expect(body.session_id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(body.capabilities.commands.map((c: any) => c.name)).toEqual(["set_color", "echo", "fail", "sleep", "end"])
    expect(body.capabilities.commands[0]).not.toHaveProperty("json_schema")

    const info = await http(server, "GET", `/sessions/${body.session_id}/info`)
    expect(info.status).toBe(200)
    expect(info.body).toMatchObject({
      session_id: body.session_id,
      state: "orphaned",
      model: { name: "server-fixture" }
    })
    expect(info.body.stats).toHaveProperty("frames_generated")

    const stopped = await http(server, "POST", "/stop_session", { body: { session_id: body.session_id } })
    expect(stopped.status).toBe(200)
    expect(stopped.body).toMatchObject({ session_id: body.session_id, state: "stopped", reason: "stopped" })
    expect((await http(server, "GET", `/sessions/${body.session_id}/info`)).body.code).toBe("session_not_found")

    const other = await startSession(server)
    const deleted = await http(server, "DELETE", `/sessions/${other.session_id}`)
    expect(deleted.body).toMatchObject({ session_id: other.session_id, state: "stopped" })
  })

  it("unknown sessions are 404 session_not_found; bad bodies are 400 invalid_request", async () => {
    for (
      const [method, path, body] of [
        ["POST", "/stop_session", { session_id: "nope" }],
        ["DELETE", "/sessions/nope", undefined],
        ["GET", "/sessions/nope/info", undefined],
        ["GET", "/sessions/nope/transport/rpc", undefined]
      ] as const
    ) {
      const answer = await http(server, method, path, body === undefined ? {} : { body })
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(answer.body).toMatchObject({ code: "session_not_found", message: expect.stringContaining("nope") })
    }
    // Text that no session id can be (a dot segment, 200 characters, a space) is looked up by no one.
    for (
      const [method, path, body] of [
        ["POST", "/stop_session", { session_id: "x".repeat(200) }],
        ["DELETE", "/sessions/a%20b", undefined],
        ["GET", "/sessions/..%2Finfo/info", undefined]
      ] as const
    ) {
      const answer = await http(server, method, path, body === undefined ? {} : { body })
      expect(answer.status, `${method} ${path}`).toBe(404)
      expect(answer.body.code, `${method} ${path}`).toBe("session_not_found")
    }
    const bad = await http(server, "POST", "/start_session", { body: "{nope" })
    expect(bad.status).toBe(400)
    expect(bad.body.code).toBe("invalid_request")
    expect((await http(server, "POST", "/start_session", { body: { extra_args: 3 } })).body.code).toBe(
      "invalid_request"
    )
    expect((await http(server, "POST", "/stop_session", { body: { session_id: 7 } })).body.code).toBe("invalid_request")
    // no session_id (Reactor's SDK sends no body) means the one running session: here there is none
    expect((await http(server, "POST", "/stop_session", { body: {} })).body.code).toBe("session_not_found")
    const missing = await http(server, "GET", "/no/such/thing")
    expect(missing.status).toBe(404)
    expect(missing.body.code).toBe("not_found")
  })

  it("refuses sessions past the maximum with 503 too_many_sessions", async () => {
    const a = await startSession(server)
    const b = await startSession(server)
    const refused = await http(server, "POST", "/start_session", { body: {} })
    expect(refused.status).toBe(503)
    expect(refused.body).toMatchObject({
      code: "too_many_sessions",
      max_sessions: 2,
      message: expect.stringContaining("maximum of 2")
    })
    await http(server, "DELETE", `/sessions/${a.session_id}`)
    const c = await startSession(server)
    await http(server, "DELETE", `/sessions/${b.session_id}`)
    await http(server, "DELETE", `/sessions/${c.session_id}`)
  })

  it("answers version headers: 426 client_too_old, 501 server_too_old, 1 accepted", async () => {
    const old = await http(server, "GET", "/health", { headers: { "Reactor-API-Version": "0" } })
    expect(old.status).toBe(426)
    expect(old.body).toMatchObject({ code: "client_too_old", message: expect.stringContaining("upgrade the client") })
    const future = await http(server, "GET", "/health", { headers: { "Reactor-API-Accept-Version": "2" } })
    expect(future.status).toBe(501)
    expect(future.body).toMatchObject({
      code: "server_too_old",
      message: expect.stringContaining("upgrade the server")
    })
    const garbage = await http(server, "GET", "/health", { headers: { "Reactor-API-Version": "x" } })
    expect(garbage.status).toBe(400)
    const ok = await http(server, "GET", "/health", {
      headers: { "Reactor-API-Version": "1", "Reactor-API-Accept-Version": "1" }
    })
    expect(ok.status).toBe(200)
  })

  it("CORS: localhost and listed origins get headers, others are refused, preflight answers 204", async () => {
    const local = await http(server, "GET", "/health", { headers: { Origin: "http://localhost:5173" } })
    expect(local.headers.get("access-control-allow-origin")).toBe("http://localhost:5173")
    const preflight = await http(server, "OPTIONS", "/start_session", {
      headers: { Origin: "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST" }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Reactor-API-Version")
    const evil = await http(server, "POST", "/start_session", { body: {}, headers: { Origin: "https://evil.example" } })
    expect(evil.status).toBe(403)
    expect(evil.body.code).toBe("forbidden_origin")
    expect(evil.headers.get("access-control-allow-origin")).toBeNull()
    const listed = await startServer({ cors: ["https://app.example"] })
    try {
      const answer = await http(listed, "GET", "/health", { headers: { Origin: "https://app.example" } })
      expect(answer.headers.get("access-control-allow-origin")).toBe("https://app.example")
    } finally {
      await listed.close()
    }
  })

  it("serves the page from the web root, 404 for missing files and traversal", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises")
    const { tmpdir } = await import("node:os")
    const { join } = await import("node:path")
    const root = await mkdtemp(join(tmpdir(), "reactor-web-"))
    await writeFile(join(root, "index.html"), "<!doctype html><title>page</title>")
    await writeFile(join(root, "app.js"), "console.log(1)")
    const web = await startServer({ webRoot: root })
    try {
      const page = await http(web, "GET", "/")
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toContain("text/html")
      expect(page.body).toContain("<title>page</title>")
      const js = await http(web, "GET", "/app.js")
      expect(js.headers.get("content-type")).toContain("javascript")
      expect((await http(web, "GET", "/app.css")).status).toBe(404)
      expect((await http(web, "GET", "/..%2Fpackage.json")).status).toBe(404)
    } finally {
      await web.close()
    }
  })

  it("mounts the rpc transport: a plain GET is refused with 400 invalid_request", async () => {
    const session = await startSession(server)
    const answer = await http(server, "GET", `/sessions/${session.session_id}/transport/rpc`)
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ code: "invalid_request", message: expect.stringContaining("upgrade") })
    const plain = await http(server, "GET", session.selected_transport.url)
    expect(plain.status).toBe(426)
    await http(server, "DELETE", `/sessions/${session.session_id}`)
  })
})

describe("server: HTTP auth", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ token: "s3cret" })
  })
  afterAll(() => server.close())

  it("needs the bearer token on every endpoint", async () => {
    for (
      const [method, path] of [["GET", "/health"], ["GET", "/capabilities"], ["POST", "/start_session"], [
        "GET",
        "/"
      ]] as const
    ) {
      const answer = await http(server, method, path)
      expect(answer.status, path).toBe(401)
      expect(answer.body.code).toBe("unauthorized")
    }
    expect((await http(server, "GET", "/health", { headers: { Authorization: "Bearer wrong" } })).status).toBe(401)
    expect((await http(server, "GET", "/health", { headers: { Authorization: "Bearer s3cret" } })).status).toBe(200)
    expect((await http(server, "GET", "/health?token=s3cret")).status).toBe(200)
  })

  it("without a token the server is open and accepts any bearer (Reactor's local mode)", async () => {
    const open = await startServer()
    try {
      expect((await http(open, "GET", "/health", { headers: { Authorization: "Bearer local" } })).status).toBe(200)
    } finally {
      await open.close()
    }
  })
})
