/**
 * The server as a composition of layers: the transports are layers built over the reactor, registry and settings, so
 * a setting provided around the server reaches them, and a bad setting in the environment stops the server's start
 * with a message that names it. The tests run on the live clock: the server's own timers (stats, shutdown) run on it.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, LogLevel } from "effect"
import * as WebRtcConfig from "../../src/config/WebRtcConfig.js"
import * as Model from "../../src/model/Model.js"
import * as Server from "../../src/server/Server.js"
import * as Fixture from "../fixtures/server-model.js"

const v = { "Reactor-WebRTC-Version": "1.0" }

/** A server in the test's scope; its env is the given map (not the process's). */
const start = (env: Record<string, string> = {}) =>
  Server.start(Fixture.make(), { host: "127.0.0.1", port: 0, token: "" }).pipe(
    Effect.provide(Model.ConfigInput.empty),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

const iceServers = (server: Server.Service) =>
  Effect.promise(async () => {
    const started = await fetch(`${server.url}/start_session`, { method: "POST", body: "{}" })
    const id = (await started.json()).session_id as string
    const answer = await fetch(`${server.url}/sessions/${id}/transport/webrtc/ice_servers`, { headers: v })
    return await answer.json()
  })

const turn = [{ uris: ["turn:turn.example:3478"], credentials: { username: "u", password: "p" } }]

describe("Server", () => {
  it.live("a WebRtcConfig provided around the server reaches the WebRTC transport", () =>
    Effect.gen(function*() {
      const server = yield* start().pipe(Effect.provide(WebRtcConfig.layer({ iceServers: turn })))
      expect(yield* iceServers(server)).toEqual({ ice_servers: turn })
    }).pipe(Effect.scoped))

  it.live("without one, the WebRTC transport reads the environment", () =>
    Effect.gen(function*() {
      const server = yield* start({ REACTOR_WEBRTC_ICE_SERVERS: JSON.stringify(turn) })
      expect(yield* iceServers(server)).toEqual({ ice_servers: turn })
    }).pipe(Effect.scoped))

  it.live("a bad WebRTC setting in the environment stops the start, naming the variable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(start({ REACTOR_WEBRTC_MAX_KBPS: "fast" }))
      expect(String(error)).toContain("REACTOR_WEBRTC_MAX_KBPS")
    }).pipe(Effect.scoped))
})
