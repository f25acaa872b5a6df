/**
 * The WebRTC signalling endpoints: shapes the SDK parses (checked with its own schemas), the exact statuses it
 * expects (202 for an offer, 202/200 for the polled answer), and a specific error for each bad request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import { http, startServer } from "../e2e/helpers.js"
import * as RawPeer from "../e2e/RawPeer.js"
import * as SdkSchemas from "../sdk/SdkSchemas.js"

const v = { "Reactor-WebRTC-Version": "1.0", Authorization: "Bearer local" }

describe("http: WebRTC signalling", () => {
  let server: Server.Handle
  let id: string
  const base = () => `/sessions/${id}/transport/webrtc`
  beforeAll(async () => {
    server = await startServer({ maxSessions: 4 })
    id = (await http(server, "POST", "/start_session", { body: {} })).body.session_id
  })
  afterAll(() => server.close())

  it("GET ice_servers answers Reactor's shape (uris), as the SDK parses it", async () => {
    const answer = await http(server, "GET", `${base()}/ice_servers`, { headers: v })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ ice_servers: [] })
    expect(SdkSchemas.rejects("IceServersResponseSchema", answer.body)).toBeUndefined()
  })

  it("GET sdp_params before any offer is 404 no_offer", async () => {
    const answer = await http(server, "GET", `${base()}/sdp_params`, { headers: v })
    expect(answer.status).toBe(404)
    expect(answer.body.code).toBe("no_offer")
  })

  it("POST sdp_params answers exactly 202, and the first poll gets the answer in the SDK's shape", async () => {
    const made = await RawPeer.offer()
    const body = {
      sdp_offer: made.sdp,
      track_mapping: made.mapping,
      client_info: { sdk_version: "2.9.0", sdk_type: "js" }
    }
    expect(SdkSchemas.rejects("WebRTCSdpOfferRequestSchema", body)).toBeUndefined()
    const posted = await http(server, "POST", `${base()}/sdp_params`, { body, headers: v })
    expect(posted.status).toBe(202)
    const polled = await http(server, "GET", `${base()}/sdp_params`, { headers: v })
    expect(polled.status).toBe(200)
    expect(SdkSchemas.rejects("WebRTCSdpAnswerResponseSchema", polled.body)).toBeUndefined()
    expect(polled.body.sdp_answer).toMatch(/^v=0/)
    expect(polled.body.sdp_answer).toMatch(/a=candidate:/) // non-trickle: the candidates are in it
    made.pc.close()
  })

  it("answers each bad offer with a specific error", async () => {
    const made = await RawPeer.offer()
    const post = (body: unknown, headers: Record<string, string> = v) =>
      http(server, "POST", `${base()}/sdp_params`, { body, headers })
    const cases: ReadonlyArray<readonly [unknown, number, string]> = [
      ["{nope", 400, "invalid_request"],
      [{ sdp_offer: 3, track_mapping: [] }, 400, "invalid_request"],
      [{ sdp_offer: "x".repeat(70_000), track_mapping: [] }, 400, "invalid_request"],
      [{ sdp_offer: "x".repeat(100_000), track_mapping: [] }, 413, "body_too_large"],
      [{ sdp_offer: made.sdp, track_mapping: [{ ...made.mapping[0], name: "webcam" }] }, 400, "unknown_track"],
      [{ sdp_offer: made.sdp, track_mapping: [{ ...made.mapping[0], direction: "sendonly" }] }, 400, "invalid_track"],
      [{ sdp_offer: made.sdp, track_mapping: [{ ...made.mapping[0], mid: "77" }] }, 400, "invalid_track"],
      [{ sdp_offer: made.sdp, track_mapping: [] }, 400, "invalid_track"],
      [
        { sdp_offer: made.sdp.replace(/a=fingerprint:[^\r\n]*\r?\n/g, ""), track_mapping: made.mapping },
        400,
        "invalid_sdp"
      ]
    ]
    for (const [body, status, code] of cases) {
      const answer = await post(body)
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(status)
      expect(answer.body.code, JSON.stringify(body).slice(0, 80)).toBe(code)
      expect(answer.body.message).toEqual(expect.any(String))
    }
    const unknownSession = await http(server, "POST", "/sessions/nope/transport/webrtc/sdp_params", {
      body: {},
      headers: v
    })
    expect(unknownSession.status).toBe(404)
    expect(unknownSession.body.code).toBe("session_not_found")
    made.pc.close()
  })

  it("checks Reactor-WebRTC-Version: 426 for an older client, 501 for a newer one, 400 for garbage", async () => {
    const get = (version: string) =>
      http(server, "GET", `${base()}/ice_servers`, { headers: { "Reactor-WebRTC-Version": version } })
    expect((await get("0.9")).status).toBe(426)
    expect((await get("2.0")).status).toBe(501)
    expect((await get("one")).body.code).toBe("invalid_request")
    expect((await get("1.3")).status).toBe(200)
  })

  it("stop_session without a session_id, with several sessions running, arms the stop for the next closing peer (202)", async () => {
    const other = (await http(server, "POST", "/start_session", { body: {} })).body.session_id
    const answer = await http(server, "POST", "/stop_session", {})
    expect(answer.status).toBe(202)
    expect(answer.body).toMatchObject({ state: "stopping", message: expect.stringContaining("2 sessions") })
    await http(server, "DELETE", `/sessions/${other}`)
  })

  it("a preflight for PUT sdp_params (the SDK's reconnect) is allowed", async () => {
    const preflight = await http(server, "OPTIONS", `${base()}/sdp_params`, {
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "PUT" }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get("access-control-allow-methods")).toContain("PUT")
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Reactor-WebRTC-Version")
  })
})
