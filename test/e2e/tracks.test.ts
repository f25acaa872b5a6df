/**
 * Named output tracks over the WebSocket, end to end, with example 10 (the synthesiser) served in-process and in a
 * worker thread: capabilities list its three output tracks as Reactor's do, and a client receives each video track
 * as binary frames with its track index, the audio as PCM chunks (codec 2) whose content is the note it asked for,
 * and each frame's metadata just before the frame.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { frequency, model, notes } from "../../examples/10-synth.js"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
import * as Server from "../../src/server/Server.js"
import * as SdkSchemas from "../sdk/SdkSchemas.js"
import { type Client, connect, http } from "./helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const width = 64
const height = 36
const config = { source: "test", value: { width, height, fps: 25 } }

interface Chunk {
  readonly header: FrameHeader.AudioHeader
  readonly samples: Int16Array
}

/** Collects the audio messages a client receives (the helper's client keeps the frames). */
const audioOf = (client: Client) => {
  const chunks: Array<Chunk> = []
  client.ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return
    const header = FrameHeader.readAudioHeader(data)
    if (header === undefined) return
    const bytes = data.subarray(FrameHeader.headerBytes)
    const samples = new Int16Array(bytes.byteLength / 2)
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2)
    chunks.push({ header, samples })
  })
  return chunks
}

/** The pitch of a stretch of samples from its rising zero crossings (Hz). */
const pitch = (samples: Int16Array, sampleRate: number) => {
  const crossings: Array<number> = []
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings.push(i)
  if (crossings.length < 2) return 0
  return (sampleRate * (crossings.length - 1)) / (crossings.at(-1)! - crossings[0]!)
}

const waitFor = async <A>(what: string, check: () => A | undefined, timeoutMs = 15_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = check()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

const servings: ReadonlyArray<[string, Server.Serving]> = [
  ["in-process", model],
  ["worker", { _tag: "Worker", module: resolve("examples/10-synth.ts") }]
]

describe.each(servings)("named output tracks and audio over the WebSocket (%s)", (_name, serving) => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await Server.listen(serving, { host: "127.0.0.1", port: 0, maxSessions: 4 }, config, logLevel)
  }, 30_000)
  afterAll(() => server.close())

  it("lists the output tracks in declaration order, as Reactor's capabilities do", async () => {
    const capabilities = await http(server, "GET", "/capabilities")
    const tracks = [
      { name: "main_video", kind: "video", direction: "recvonly" },
      { name: "keyboard", kind: "video", direction: "recvonly" },
      { name: "main_audio", kind: "audio", direction: "recvonly" }
    ]
    expect(capabilities.body.tracks).toEqual(tracks)
    expect(capabilities.body.outputs).toEqual([
      { name: "main_video", kind: "video", description: "An oscilloscope of the sound" },
      { name: "keyboard", kind: "video", description: "The keyboard, the key being played in red" },
      {
        name: "main_audio",
        kind: "audio",
        description: "The synthesiser, 48 kHz mono",
        sample_rate: 48000,
        channels: 1
      }
    ])
    const started = await http(server, "POST", "/start_session", { body: {} })
    expect(SdkSchemas.rejects("SessionResponseSchema", started.body)).toBeUndefined()
    expect(started.body.capabilities.tracks).toEqual(tracks)
    await http(server, "POST", "/stop_session", { body: { session_id: started.body.session_id } })
  })

  it("sends both video tracks, the note as audio and each frame's metadata", async () => {
    const { client } = await connect(server, "?format=rgb")
    const audio = audioOf(client)
    // silence before any note
    await waitFor("audio", () => (audio.length >= 3 ? true : undefined))
    for (const chunk of audio.slice(0, 3)) {
      expect(chunk.header).toMatchObject({ track: 2, sampleRate: 48000, channels: 1 })
      expect(chunk.samples.every((s) => s === 0)).toBe(true)
    }
    client.command("play_note", { note: "A4", duration: 5 }, "n1")
    expect((await client.next((m) => m.data?.id === "n1")).type).toBe("commandAck")
    const loud = await waitFor("a sounding chunk", () => audio.find((chunk) => chunk.samples.some((s) => s !== 0)))
    // the chunks after the first sounding one (which starts with the note's fade-in)
    const from = audio.indexOf(loud) + 1
    await waitFor("three more chunks", () => (audio.length >= from + 3 ? true : undefined))
    const joined = new Int16Array(audio.slice(from, from + 3).flatMap((chunk) => [...chunk.samples]))
    expect(pitch(joined, 48000)).toBeCloseTo(frequency("A4"), 0)
    // volume 0.5 of full scale, a sine
    expect(Math.max(...joined)).toBeGreaterThan(0.49 * 32767)
    expect(Math.max(...joined)).toBeLessThanOrEqual(Math.round(0.5 * 32767))
    // chunks are numbered in order on their track
    const indices = audio.map((chunk) => chunk.header.index)
    expect(indices).toEqual(indices.map((_, i) => indices[0]! + i))

    // the metadata says the note, just before the frame it belongs to
    const meta = await client.next((m) => m.type === "frameMetadata" && m.data.metadata.note === "A4")
    expect(meta.scope).toBe("runtime")
    expect(meta.data).toMatchObject({ track: "main_video", metadata: { note: "A4", waveform: "sine", volume: 0.5 } })
    // the keyboard track: its own size, the A4 key red; the oscilloscope on track 0
    await client.waitFrames(4)
    const keyboard = await waitFor("a keyboard frame with a red key", () =>
      client.frames.find((frame) => {
        if (frame.header.track !== 1) return false
        const whites = notes.filter((note) => !note.includes("#"))
        const x = Math.floor((whites.indexOf("A4") + 0.5) * (width / whites.length))
        const y = frame.header.height - 2
        const at = (y * frame.header.width + x) * 3
        return frame.payload[at] === 220 && frame.payload[at + 1] === 30 ? true : undefined
      }))
    // the helper's client records every binary message; track 2 is the audio (codec 2, read above)
    const tracks = new Set(client.frames.map((frame) => frame.header.track))
    expect([...tracks].sort()).toEqual([0, 1, 2])
    expect(client.frames.find((frame) => frame.header.track === 0)!.header).toMatchObject({ width, height })
    expect(client.frames.find((frame) => frame.header.track === 1)!.header).toMatchObject({
      width,
      height: Math.round(height / 3)
    })
    expect(keyboard.header).toMatchObject({ track: 1, width })
    // the metadata names a frame of track 0 the client received
    expect(client.headers.some((header) => header.track === 0 && header.index === meta.data.frame)).toBe(true)

    client.command("stop", {}, "s1")
    await client.next((m) => m.data?.id === "s1")
    const count = audio.length
    await waitFor(
      "silence again",
      () =>
        audio.length > count + 2 && audio.slice(-2).every((chunk) => chunk.samples.every((s) => s === 0))
          ? true
          : undefined
    )
    client.runtime("stop")
    await client.closed
  }, 30_000)

  it("a JPEG socket gets the other video track as JPEG too, with its track index", async () => {
    const { client } = await connect(server, "?format=jpeg")
    await waitFor("a keyboard frame", () => client.frames.find((frame) => frame.header.track === 1))
    const frame = client.frames.find((f) => f.header.track === 1)!
    expect(frame.header.codec).toBe("jpeg")
    expect([...frame.payload.subarray(0, 2)]).toEqual([0xff, 0xd8])
    client.runtime("stop")
    await client.closed
  }, 30_000)
})
