/**
 * Input tracks over WebRTC: a client's `sendonly` video (a webcam, as Reactor's WebcamStream publishes it) is decoded
 * and every frame reaches the `Inputs` hook with its track name, size and RGB pixels. Frames larger than the limit
 * are refused with one specific error on the data channel.
 */
import wrtc from "@roamhq/wrtc"
import { Effect, Exit, Logger, LogLevel, Scope } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Model from "../../src/model/Model.js"
import * as Server from "../../src/server/Server.js"
import * as Inputs from "../../src/transport/Inputs.js"
import * as InputFixture from "../fixtures/input-model.js"
import * as Fixture from "../fixtures/server-model.js"
import { until } from "../sdk/NodeSdk.js"

interface Received {
  readonly session: string
  readonly track: string
  readonly width: number
  readonly height: number
  readonly pixel: ReadonlyArray<number>
}

const received: Array<Received> = []
const inputs: Inputs.Service = {
  tracks: [{ name: "webcam", kind: "video", direction: "sendonly" }],
  deliver: (session, frame) => {
    const rgb = frame.rgb()
    const at = ((frame.height >> 1) * frame.width + (frame.width >> 1)) * 3
    received.push({
      session: session.id,
      track: frame.track,
      width: frame.width,
      height: frame.height,
      pixel: [...rgb.slice(at, at + 3)]
    })
  },
  maxDimension: 640
}

const headers = { "content-type": "application/json", "Reactor-WebRTC-Version": "1.0" }

const startSession = async (url: string): Promise<string> =>
  ((await (await fetch(`${url}/start_session`, { method: "POST", body: "{}" })).json()) as any).session_id

/** Posts the peer's offer with a video output and one sendonly track of the client's. */
const postOffer = async (
  url: string,
  sessionId: string,
  pc: RTCPeerConnection,
  input: { name: string; kind: string; mid: string | null }
) => {
  const video = pc.getTransceivers()[0]!
  return fetch(`${url}/sessions/${sessionId}/transport/webrtc/sdp_params`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      sdp_offer: pc.localDescription!.sdp,
      track_mapping: [
        { name: "main_video", kind: "video", direction: "recvonly", mid: video.mid },
        { ...input, direction: "sendonly" }
      ]
    })
  })
}

/** A client with a video output and a webcam input, as the SDK builds it for such a model. */
const connect = async (url: string, sessionId: string, name = "webcam") => {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
  const channel = pc.createDataChannel("data")
  const messages: Array<any> = []
  channel.onmessage = (event) => messages.push(JSON.parse(String(event.data)).data)
  pc.addTransceiver("video", { direction: "recvonly" })
  const webcam = pc.addTransceiver("video", { direction: "sendonly" })
  const source = new wrtc.nonstandard.RTCVideoSource()
  const track = source.createTrack()
  await webcam.sender.replaceTrack(track)
  await pc.setLocalDescription(await pc.createOffer())
  await until("ICE gathering", () => pc.iceGatheringState === "complete", 5_000).catch(() => {})
  const posted = await postOffer(url, sessionId, pc, { name, kind: "video", mid: webcam.mid })
  expect(posted.status).toBe(202)
  const polled = await fetch(`${url}/sessions/${sessionId}/transport/webrtc/sdp_params`, { headers })
  const { sdp_answer } = (await polled.json()) as { sdp_answer: string }
  await pc.setRemoteDescription({ type: "answer", sdp: sdp_answer })
  await until("the channel open", () => channel.readyState === "open")
  /** Sends one I420 frame of a flat colour (Y, U, V). */
  const send = (width: number, height: number, [y, u, v]: readonly [number, number, number]) => {
    const data = new Uint8Array(width * height * 1.5)
    data.fill(y, 0, width * height)
    data.fill(u, width * height, width * height * 1.25)
    data.fill(v, width * height * 1.25)
    source.onFrame({ width, height, data })
  }
  return { pc, messages, send, close: () => (track.stop(), pc.close()) }
}

/** Sends red frames of a size for a while after the first error; the errors the channel got. */
const errorsWhileSending = async (client: Awaited<ReturnType<typeof connect>>, width: number, height: number) => {
  const timer = setInterval(() => client.send(width, height, [82, 90, 240]), 33)
  try {
    await until("the error", () => client.messages.some((m) => m.type === "error"))
    await new Promise((resolve) => setTimeout(resolve, 300))
  } finally {
    clearInterval(timer)
  }
  return client.messages.filter((m) => m.type === "error")
}

describe("transport: WebRTC input tracks", () => {
  let scope: Scope.CloseableScope
  let server: Server.Service
  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    server = await Effect.runPromise(
      Server.start(Fixture.model, { host: "127.0.0.1", port: 0, maxSessions: 4 }).pipe(
        Effect.provideService(Inputs.Inputs, inputs),
        Effect.provideService(Model.ConfigInput, { source: "defaults", value: {} }),
        Scope.extend(scope),
        Logger.withMinimumLogLevel(LogLevel.None)
      )
    )
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void).pipe(Logger.withMinimumLogLevel(LogLevel.None))))

  it("decoded webcam frames reach the hook with their track, size and colour", async () => {
    const id = await startSession(server.url)
    const client = await connect(server.url, id)
    // pure red in BT.601 limited range: Y 82, U 90, V 240
    const timer = setInterval(() => client.send(320, 240, [82, 90, 240]), 33)
    try {
      await until("input frames", () => received.filter((r) => r.session === id).length >= 5)
    } finally {
      clearInterval(timer)
    }
    const last = received.filter((r) => r.session === id).at(-1)!
    expect(last).toMatchObject({ track: "webcam", width: 320, height: 240 })
    expect(last.pixel[0]).toBeGreaterThan(200)
    expect(last.pixel[1]).toBeLessThan(50)
    expect(last.pixel[2]).toBeLessThan(50)
    client.close()
  })

  it("frames over the size limit are dropped, with one input_too_large error on the channel", async () => {
    const id = await startSession(server.url)
    const client = await connect(server.url, id)
    const errors = await errorsWhileSending(client, 800, 96)
    expect(errors).toHaveLength(1)
    expect(errors[0].data).toMatchObject({
      code: "input_too_large",
      track: "webcam",
      width: 800,
      height: 96,
      limit: 640
    })
    expect(received.some((r) => r.session === id)).toBe(false)
    client.close()
  })

  it("a track the server does not take is refused by name", async () => {
    const id = await startSession(server.url)
    const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
    pc.createDataChannel("data")
    pc.addTransceiver("video", { direction: "recvonly" })
    const mic = pc.addTransceiver("audio", { direction: "sendonly" })
    await pc.setLocalDescription(await pc.createOffer())
    const answer = await postOffer(server.url, id, pc, { name: "microphone", kind: "audio", mid: mic.mid })
    expect(answer.status).toBe(400)
    expect(await answer.json()).toMatchObject({ code: "unknown_track", message: expect.stringContaining("webcam") })
    pc.close()
  })
})

// Without a hook of its own the server takes the model's declared inputs (`Model.make({ inputs })`): frames go to
// `Session.pushInput`, so the model reads them with `ctx.input`, in this thread or in a model host.
describe.each([
  ["in-process", InputFixture.model as Server.Serving],
  ["worker", { _tag: "Worker", module: resolve("test/fixtures/input-model.ts") } as Server.Serving]
])("transport: WebRTC into the model's declared inputs (%s)", (_name, serving) => {
  let scope: Scope.CloseableScope
  let server: Server.Service
  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    server = await Effect.runPromise(
      Server.start(serving, { host: "127.0.0.1", port: 0, maxSessions: 4 }).pipe(
        Effect.provideService(Model.ConfigInput, { source: "defaults", value: {} }),
        Scope.extend(scope),
        Logger.withMinimumLogLevel(LogLevel.None)
      )
    )
  }, 30_000)
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void).pipe(Logger.withMinimumLogLevel(LogLevel.None))))

  it("the model reads the camera's frames (size, colour) with ctx.input", async () => {
    const id = await startSession(server.url)
    const client = await connect(server.url, id, "cam")
    const timer = setInterval(() => client.send(160, 120, [82, 90, 240]), 33)
    try {
      await until("frames in the model", () => client.messages.filter((m) => m.type === "frame").length >= 3)
    } finally {
      clearInterval(timer)
    }
    const seen = client.messages.filter((m) => m.type === "frame").at(-1)!
    expect(seen).toMatchObject({ track: "cam", width: 160, height: 120, bytes: 160 * 120 * 3 })
    expect(seen.first).toBeGreaterThan(200)
    client.close()
  }, 30_000)

  it("frames over the model's declared maximum are dropped with one input_too_large", async () => {
    const id = await startSession(server.url)
    const client = await connect(server.url, id, "cam")
    const errors = await errorsWhileSending(client, 640, 480)
    expect(errors).toHaveLength(1)
    expect(errors[0].data).toMatchObject({
      code: "input_too_large",
      track: "cam",
      message: `the frame is 640x480; input "cam" accepts at most 320x240`
    })
    expect(client.messages.some((m) => m.type === "frame")).toBe(false)
    client.close()
  }, 30_000)
})
