/**
 * Audio from a Python model (Reactor's Python API: an `AudioOut` track, `get_track(name).emit(samples)`): listed in
 * capabilities as an audio track, and received over the WebSocket as PCM chunks whose pitch is the commanded one.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
import * as Server from "../../src/server/Server.js"
import { connect } from "../e2e/helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

let server: Server.Handle
beforeAll(async () => {
  server = await Server.listen(
    { _tag: "Python", module: resolve("test/fixtures/python/tone.py") },
    { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000 },
    undefined,
    logLevel
  )
}, 120_000)
afterAll(() => server?.close())

describe("a Python model's audio", () => {
  it("is an audio track in capabilities, and its chunks carry the commanded tone", async () => {
    const { client, session } = await connect(server, "?format=rgb")
    expect((session as any).capabilities.tracks).toEqual([
      { name: "main_video", kind: "video", direction: "recvonly" },
      { name: "main_audio", kind: "audio", direction: "recvonly" }
    ])
    const chunks: Array<Int16Array> = []
    client.ws.on("message", (data: Buffer, isBinary: boolean) => {
      const header = isBinary ? FrameHeader.readAudioHeader(data) : undefined
      if (header === undefined) return
      expect(header).toMatchObject({ track: 1, sampleRate: 48000, channels: 1 })
      const bytes = data.subarray(FrameHeader.headerBytes)
      chunks.push(Int16Array.from({ length: bytes.byteLength / 2 }, (_, i) => bytes.readInt16LE(i * 2)))
    })
    client.command("set_tone", { frequency: 1000 }, "t1")
    expect((await client.next((m) => m.data?.id === "t1", 20_000)).type).toBe("commandAck")
    const deadline = Date.now() + 20_000
    let loud: Int16Array | undefined
    while (loud === undefined && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 50))
      loud = chunks.slice(0, -1).reverse().find((chunk) => chunk.some((s) => s !== 0))
    }
    expect(loud).toBeDefined()
    const sounding = chunks.filter((chunk) => chunk.some((s) => s !== 0)).slice(-3)
    expect(sounding.every((chunk) => chunk.length === 960)).toBe(true)
    // 1000 Hz: 20 rising zero crossings per 20 ms chunk, give or take one at the edges
    for (const chunk of sounding) {
      let crossings = 0
      for (let i = 1; i < chunk.length; i++) if (chunk[i - 1]! < 0 && chunk[i]! >= 0) crossings++
      expect(crossings).toBeGreaterThanOrEqual(19)
      expect(crossings).toBeLessThanOrEqual(21)
      expect(Math.max(...chunk)).toBeGreaterThan(7900)
    }
    client.runtime("stop")
    await client.closed
  }, 60_000)
})
