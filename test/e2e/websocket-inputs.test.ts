/**
 * Input frames over the WebSocket transport, end to end, with example 05 served in-process and in a worker thread: a
 * client without WebRTC sends its camera as binary messages (the 24-byte header, `track` = the input's index in
 * `capabilities.tracks`, then RGB) and the output frames follow what it sends; every malformed frame earns its
 * specific error and the session goes on.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { model } from "../../examples/05-webcam-filter.js"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
import * as Server from "../../src/server/Server.js"
import * as SdkSchemas from "../sdk/SdkSchemas.js"
import { type Client, connect, http } from "./helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const config = { source: "test", value: { width: 32, height: 18, fps: 30 } }

const solid = (width: number, height: number, rgb: readonly [number, number, number]) => {
  const data = new Uint8Array(width * height * 3)
  for (let i = 0; i < data.length; i++) data[i] = rgb[i % 3]!
  return { width, height, data }
}

/** Waits for an output frame whose centre pixel is `rgb` (the model answers at its own pace). */
const untilPixel = async (client: Client, rgb: readonly [number, number, number], timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  let last: Array<number> = []
  while (Date.now() < deadline) {
    await client.waitFrames(1)
    const frame = client.frames.at(-1)!
    const at = ((frame.header.height >> 1) * frame.header.width + (frame.header.width >> 1)) * 3
    last = [...frame.payload.subarray(at, at + 3)]
    if (last.every((v, i) => v === rgb[i])) return frame
  }
  throw new Error(`no frame with centre ${JSON.stringify(rgb)}; the last was ${JSON.stringify(last)}`)
}

const ack = async (client: Client, type: string, data: unknown, id: string) => {
  client.command(type, data, id)
  const answer = await client.next((m) => (m.type === "commandAck" || m.type === "error") && m.data.id === id)
  expect(answer.type).toBe("commandAck")
}

const servings: ReadonlyArray<[string, Server.Serving]> = [
  ["in-process", model],
  ["worker", { _tag: "Worker", module: resolve("examples/05-webcam-filter.ts") }]
]

describe.each(servings)("input frames over the WebSocket (%s)", (_name, serving) => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.listen(serving, { host: "127.0.0.1", port: 0, maxSessions: 4 }, config, logLevel)
  }, 30_000)
  afterAll(() => server.close())

  it("lists the webcam as a sendonly track after main_video", async () => {
    const capabilities = await http(server, "GET", "/capabilities")
    expect(capabilities.body.tracks).toEqual([
      { name: "main_video", kind: "video", direction: "recvonly" },
      { name: "webcam", kind: "video", direction: "sendonly" }
    ])
    // Reactor's SDK takes the session response with its input track as it is (its own zod schema).
    const started = await http(server, "POST", "/start_session", { body: {} })
    expect(SdkSchemas.rejects("SessionResponseSchema", started.body)).toBeUndefined()
    expect(started.body.capabilities.tracks).toEqual(capabilities.body.tracks)
    await http(server, "POST", "/stop_session", { body: { session_id: started.body.session_id } })
    expect(capabilities.body.inputs).toEqual([
      { name: "webcam", kind: "video", description: "Your camera", max_width: 1280, max_height: 720 }
    ])
  })

  it("shows a test pattern, then the camera's picture, and the filter follows the slider", async () => {
    const { client, session } = await connect(server, "?format=rgb")
    expect((session as any).capabilities.tracks[1]).toEqual({ name: "webcam", kind: "video", direction: "sendonly" })
    const first = await client.waitFrames(1).then(() => client.frames.at(-1)!)
    expect(first.header).toMatchObject({ width: 32, height: 18, track: 0 })
    await ack(client, "set_strength", { strength: 0 }, "s0")
    // Strength 0: the camera as it is, scaled to 32x18 (any input size within 1280x720 goes).
    client.ws.send(FrameHeader.encodeInput(1, solid(64, 48, [255, 0, 0])))
    await untilPixel(client, [255, 0, 0])
    client.ws.send(FrameHeader.encodeInput(1, solid(640, 360, [0, 0, 255])))
    await untilPixel(client, [0, 0, 255])
    // Full edge filter over a flat picture: no edges anywhere, black.
    await ack(client, "set_strength", { strength: 1 }, "s1")
    await untilPixel(client, [0, 0, 0])
    // Sketch: the inverse, white paper.
    await ack(client, "set_filter", { filter: "sketch" }, "f1")
    await untilPixel(client, [255, 255, 255])
    client.runtime("stop")
    await client.closed
  }, 30_000)

  it("refuses each malformed frame with its specific error, and the session goes on", async () => {
    const { client, session } = await connect(server, "?format=rgb")
    const refused = async (bytes: Uint8Array, code: string) => {
      client.ws.send(bytes)
      return (await client.error(code)).data
    }
    const good = solid(8, 8, [9, 9, 9])
    expect(await refused(FrameHeader.encodeInput(0, good), "unknown_track")).toMatchObject({
      track: 0,
      message: `track 0 is "main_video", which the server sends; the input tracks are 1 = "webcam"`
    })
    expect((await refused(FrameHeader.encodeInput(7, good), "unknown_track")).message).toContain(
      "not in capabilities.tracks"
    )
    expect((await refused(new Uint8Array([1, 2, 3]), "invalid_input")).message).toContain("24-byte frame header")
    const jpeg = FrameHeader.encodeInput(1, good)
    jpeg[3] = 1
    expect((await refused(jpeg, "invalid_input")).message).toBe("input frames must be raw RGB (codec 0); got codec 1")
    const short = FrameHeader.encodeInput(1, good).subarray(0, 24 + 100)
    expect(await refused(short, "invalid_input")).toMatchObject({
      track: "webcam",
      message: "the frame has 100 bytes of pixels but 8x8 RGB needs 192"
    })
    expect(await refused(FrameHeader.encodeInput(1, solid(1281, 2, [0, 0, 0])), "input_too_large")).toMatchObject({
      track: "webcam",
      message: `the frame is 1281x2; input "webcam" accepts at most 1280x720`
    })
    // A 1280x720 frame (2.7 MB, over the 1 MiB of text limits) is taken: the payload limit fits the largest input.
    await ack(client, "set_strength", { strength: 0 }, "s0")
    client.ws.send(FrameHeader.encodeInput(1, solid(1280, 720, [0, 200, 0])))
    await untilPixel(client, [0, 200, 0])
    expect(client.texts.filter((m) => m.type === "sessionEnded")).toEqual([])
    const info = await http(server, "GET", `/sessions/${session.session_id}/info`)
    expect(info.body.stats).toMatchObject({ dropped_input_frames: expect.any(Number), commands_rejected: 0 })
    client.runtime("stop")
    await client.closed
  }, 30_000)
})
