/**
 * Our session answers parsed by the official SDK's own zod schemas (SdkSchemas.ts): a field the SDK rejects fails
 * its whole connect, so every answer it parses is checked here against the exact schema it uses.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { http, startServer } from "../e2e/helpers.js"
import * as SdkSchemas from "./SdkSchemas.js"

describe("sdk: our answers against @reactor-team/js-sdk 2.9.0's schemas", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 4 })
  })
  afterAll(() => server.close())

  it("the schemas are the SDK's: they reject what the SDK rejects", () => {
    expect(SdkSchemas.rejects("CapabilitiesSchema", { protocol_version: 1, tracks: [] })).toMatch(/protocol_version/)
    expect(SdkSchemas.rejects("CapabilitiesSchema", { protocol_version: "1", tracks: [] })).toBeUndefined()
    expect(SdkSchemas.rejects("IceServersResponseSchema", { ice_servers: [{ urls: ["stun:x"] }] })).toMatch(/uris/)
  })

  it("POST /start_session as the SDK's local mode sends it ({} and its version headers) passes SessionResponseSchema", async () => {
    const answer = await http(server, "POST", "/start_session", {
      body: {},
      headers: { "Reactor-API-Version": "1", "Reactor-API-Accept-Version": "1" }
    })
    expect(answer.status).toBe(200)
    expect(SdkSchemas.rejects("SessionResponseSchema", answer.body)).toBeUndefined()
    expect(SdkSchemas.rejects("CreateSessionResponseSchema", answer.body)).toBeUndefined()
    expect(SdkSchemas.rejects("CapabilitiesSchema", answer.body.capabilities)).toBeUndefined()
    // connect() reads these two although the schema has them optional, and only goes on with webrtc
    expect(answer.body.capabilities.tracks).toEqual([{ name: "main_video", kind: "video", direction: "recvonly" }])
    expect(answer.body.selected_transport).toMatchObject({ protocol: "webrtc", version: "1.0" })
    await http(server, "DELETE", `/sessions/${answer.body.session_id}`)
  })

  it("a client that declares the WebSocket transport gets it, in a shape the SDK also accepts", async () => {
    const answer = await http(server, "POST", "/start_session", {
      body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    expect(answer.status).toBe(200)
    expect(answer.body.selected_transport.protocol).toBe("websocket")
    expect(SdkSchemas.rejects("SessionResponseSchema", answer.body)).toBeUndefined()
    await http(server, "DELETE", `/sessions/${answer.body.session_id}`)
  })

  it("GET /capabilities carries the same string protocol_version", async () => {
    const answer = await http(server, "GET", "/capabilities")
    expect(SdkSchemas.rejects("CapabilitiesSchema", answer.body)).toBeUndefined()
  })
})
