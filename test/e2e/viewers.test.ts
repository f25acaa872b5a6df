/**
 * Several viewers of one session, from the outside: one controller and any number of watchers, each on its own
 * transport with its own liveness. Watchers see frames, model messages and state; what drives the session (commands,
 * stop, input frames) is refused to them with `watch_only`. A newer controller replaces the current one and the
 * watchers stay. The session is orphaned only when its last viewer has left, and ends after the grace window.
 */
import { Effect, Exit, Scope, Stream } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { model as webcamFilter } from "../../examples/05-webcam-filter.js"
import { ReactorClient } from "../../src/client/index.js"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
import * as Server from "../../src/server/Server.js"
import * as Registry from "../../src/session/Registry.js"
import * as Fixture from "../fixtures/viewers-model.js"
import { until } from "../sdk/NodeSdk.js"
import { Client, eventually, http, info, sleep, startSession } from "./helpers.js"
import * as RawPeer from "./RawPeer.js"

describe("several viewers of one session", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.listen(Fixture.model, {
      host: "127.0.0.1",
      port: 0,
      maxSessions: 8,
      // long enough for a client to connect to a fresh session on a loaded machine (a WebRTC offer takes a while)
      graceMs: 3_000,
      idleTimeoutMs: 60_000
    })
  })
  afterAll(() => server.close())

  const viewer = async (id: string, role?: "watcher" | "controller") => {
    const client = Client.connect(
      server,
      `/sessions/${id}/transport/websocket?format=rgb${role !== undefined ? `&role=${role}` : ""}`
    )
    const ready = await client.next("sessionReady")
    return { client, ready }
  }

  it("a controller and watchers: all see the frames and the state; only the controller drives", async () => {
    const id = (await startSession(server)).session_id
    const controller = await viewer(id)
    const a = await viewer(id, "watcher")
    const b = await viewer(id, "watcher")
    expect(controller.ready.data).toMatchObject({ role: "controller", resumed: false })
    expect(a.ready.data).toMatchObject({ role: "watcher", resumed: true })
    expect((await info(server, id)).body).toMatchObject({
      state: "running",
      viewers: { controller: true, watchers: 2 }
    })
    controller.client.command("set_brightness", { brightness: 150 }, 1)
    await controller.client.next((m) => m.data?.id === 1)
    for (const { client } of [controller, a, b]) {
      await client.next((m) => m.type === "state" && m.data.brightness === 150)
      expect(
        await eventually(async () => {
          await client.waitFrames(1)
          return client.frames.at(-1)!.payload[0] === 150
        })
      ).toBe(true)
    }
    // a watcher's command, stop and input frame are refused, and change nothing
    a.client.command("set_brightness", { brightness: 10 }, "w1")
    expect((await a.client.next((m) => m.type === "error" && m.data.id === "w1")).data).toMatchObject({
      code: "watch_only",
      command: "set_brightness"
    })
    a.client.runtime("stop")
    expect((await a.client.error("watch_only")).data.message).toMatch(/a stop only the controlling connection/)
    a.client.ws.send(new Uint8Array(64))
    expect((await a.client.next("error")).data.code).toMatch(/watch_only|binary_not_accepted/)
    expect((await info(server, id)).body.state).toBe("running")
    controller.client.command("describe", {}, "d")
    expect((await controller.client.next((m) => m.data?.id === "d")).data.result).toMatchObject({
      brightness: 150,
      viewers: 3
    })
    for (const { client } of [controller, a, b]) client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("a newer controller replaces the current one (4409); the watchers stay", async () => {
    const id = (await startSession(server)).session_id
    const first = await viewer(id)
    const watcher = await viewer(id, "watcher")
    const second = await viewer(id)
    expect((await first.client.closed).code).toBe(4409)
    second.client.command("set_brightness", { brightness: 60 }, 1)
    await second.client.next((m) => m.data?.id === 1)
    await watcher.client.next((m) => m.type === "state" && m.data.brightness === 60)
    expect(watcher.client.ws.readyState).toBe(1)
    expect((await info(server, id)).body.viewers).toEqual({ controller: true, watchers: 1 })
    second.client.close()
    watcher.client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("the session lives while any viewer is there, and ends after the grace window once the last has left", async () => {
    const id = (await startSession(server)).session_id
    const controller = await viewer(id)
    const watcher = await viewer(id, "watcher")
    await controller.client.close()
    await eventually(async () => (await info(server, id)).body.viewers?.controller === false)
    // well past the 3 s grace window: the watcher keeps the session
    await sleep(4_500)
    expect((await info(server, id)).body).toMatchObject({ state: "running", viewers: { controller: false } })
    // a controller may come back and drive it, state intact
    const back = await viewer(id)
    expect(back.ready.data.resumed).toBe(true)
    back.client.command("describe", {}, "d")
    expect((await back.client.next((m) => m.data?.id === "d")).type).toBe("commandAck")
    await back.client.close()
    await watcher.client.close()
    expect(await eventually(async () => (await info(server, id)).status === 404)).toBe(true)
    expect(Fixture.endedSessions.some((e) => e.session === id)).toBe(true)
  })

  it("a watcher's own liveness: a silent watcher is closed, the controller is not", async () => {
    const quiet = await Server.listen(Fixture.model, {
      host: "127.0.0.1",
      port: 0,
      graceMs: 10_000,
      idleTimeoutMs: 2_000
    })
    try {
      const id = (await startSession(quiet)).session_id
      const controller = Client.connect(quiet, `/sessions/${id}/transport/websocket?format=rgb`)
      await controller.next("sessionReady")
      const watcher = Client.connect(quiet, `/sessions/${id}/transport/websocket?format=rgb&role=watcher`)
      await watcher.next("sessionReady")
      // the controller pings; the watcher says nothing
      const pinging = setInterval(() => controller.runtime("ping"), 200)
      expect((await watcher.closed).code).toBe(4408)
      clearInterval(pinging)
      expect(controller.ws.readyState).toBe(1)
      controller.close()
      await http(quiet, "DELETE", `/sessions/${id}`)
    } finally {
      await quiet.close()
    }
  })

  it("a watcher's camera frames are refused; the controller's reach the model", async () => {
    const cameras = await Server.listen(webcamFilter, { host: "127.0.0.1", port: 0 }, {
      source: "test",
      value: { width: 32, height: 18, fps: 30 }
    })
    try {
      const id = (await startSession(cameras)).session_id
      const controller = Client.connect(cameras, `/sessions/${id}/transport/websocket?format=rgb`)
      await controller.next("sessionReady")
      const watcher = Client.connect(cameras, `/sessions/${id}/transport/websocket?format=rgb&role=watcher`)
      await watcher.next("sessionReady")
      const solid = (rgb: readonly [number, number, number]) => ({
        width: 8,
        height: 8,
        data: Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => rgb[i % 3]!)
      })
      const centre = () => {
        const frame = controller.frames.at(-1)!
        const at = ((frame.header.height >> 1) * frame.header.width + (frame.header.width >> 1)) * 3
        return [...frame.payload.subarray(at, at + 3)]
      }
      controller.command("set_strength", { strength: 0 }, "s")
      expect((await controller.next((m) => m.data?.id === "s")).type).toBe("commandAck")
      watcher.ws.send(FrameHeader.encodeInput(1, solid([0, 255, 0])))
      expect((await watcher.error("watch_only")).data.message).toMatch(/an input frame/)
      controller.ws.send(FrameHeader.encodeInput(1, solid([255, 0, 0])))
      // strength 0 shows the camera as it is: the controller's red
      expect(
        await eventually(async () => {
          await controller.waitFrames(1)
          return centre().join() === "255,0,0"
        })
      ).toBe(true)
      controller.close()
      watcher.close()
      await http(cameras, "DELETE", `/sessions/${id}`)
    } finally {
      await cameras.close()
    }
  })

  it("refuses a bad role, and watchers past the limit", async () => {
    const id = (await startSession(server)).session_id
    const bad = Client.connect(server, `/sessions/${id}/transport/websocket?role=owner`)
    expect((await bad.next("error")).data).toMatchObject({ code: "invalid_request" })
    expect((await bad.closed).code).toBe(4400)
    const watchers = await Promise.all(
      Array.from({ length: Registry.maxWatchers }, () => viewer(id, "watcher"))
    )
    const extra = Client.connect(server, `/sessions/${id}/transport/websocket?role=watcher`)
    expect((await extra.next("error")).data).toMatchObject({ code: "too_many_viewers", limit: Registry.maxWatchers })
    expect((await extra.closed).code).toBe(4503)
    for (const { client } of watchers) client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("the typed client watches: frames come, commands are refused watch_only", async () => {
    const id = (await startSession(server)).session_id
    const controller = await viewer(id)
    const scope = Effect.runSync(Scope.make())
    try {
      const client = await Effect.runPromise(
        ReactorClient.make(Fixture.ClientCommands, { url: server.url, sessionId: id, watch: true, reconnects: 0 })
          .pipe(Scope.extend(scope))
      )
      const frames = await Effect.runPromise(client.frames.pipe(Stream.take(3), Stream.runCollect))
      expect(frames.length).toBe(3)
      const refused = await Effect.runPromise(Effect.flip(client.commands.set_brightness({ brightness: 9 })))
      expect(refused).toMatchObject({ code: "watch_only" })
      // the controller was not replaced
      controller.client.command("describe", {}, "d")
      expect((await controller.client.next((m) => m.data?.id === "d")).data.result.viewers).toBe(2)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
    controller.client.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })

  it("over WebRTC: a controller on sdp_params, a watcher on its own connection, one on a watcher base URL", async () => {
    const id = (await startSession(server)).session_id
    const controller = await RawPeer.connect(server.url, id)
    const minted = await http(server, "POST", `/sessions/${id}/transport/webrtc/connections?role=watcher`, {
      headers: { "Reactor-WebRTC-Version": "1.0" }
    })
    expect(minted.status).toBe(201)
    expect(minted.body).toMatchObject({ role: "watcher", track_map: { tracks: [{ name: "main_video" }] } })
    const watcher = await RawPeer.connect(
      server.url,
      id,
      "POST",
      `/sessions/${id}/transport/webrtc/connections/${minted.body.connection_id}`
    )
    // Reactor's SDK given `/sessions/{id}/watchers/{key}` as its base URL: start_session joins, stop_session leaves
    const base = `${server.url}/sessions/${id}/watchers/page-1`
    const joined = await (await fetch(`${base}/start_session`, { method: "POST", body: "{}" })).json() as any
    expect(joined).toMatchObject({ session_id: id, selected_transport: { protocol: "webrtc" } })
    const sdk = await RawPeer.connect(base, id)
    expect((await info(server, id)).body.viewers).toEqual({ controller: true, watchers: 2 })
    controller.send({ scope: "application", data: { type: "set_brightness", data: { brightness: 99 }, id: 1 } })
    for (const peer of [controller, watcher, sdk]) {
      await until("the state", () => peer.received.some((m) => m.type === "state" && m.data.brightness === 99))
      await until("video", () => peer.frames > 2)
    }
    watcher.send({ scope: "application", data: { type: "set_brightness", data: { brightness: 5 }, id: 2 } })
    await until("the refusal", () => watcher.received.some((m) => m.type === "error" && m.data.code === "watch_only"))
    expect((await (await fetch(`${base}/stop_session`, { method: "POST", body: "{}" })).json() as any).state).toBe(
      "left"
    )
    sdk.close()
    expect(await eventually(async () => (await info(server, id)).body.viewers?.watchers === 1)).toBe(true)
    expect((await info(server, id)).body.state).toBe("running")
    watcher.close()
    controller.close()
    await http(server, "DELETE", `/sessions/${id}`)
  })
})
