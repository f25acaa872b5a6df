/**
 * Output tracks in the session core: a model's declared video and audio outputs, what rides along with an emitted
 * block (per-frame metadata, the other video tracks' frames), and every refusal with its own message.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Queue, Schema } from "effect"
import { Command, Frame, Model, Output } from "../../src/index.js"
import * as ModelTest from "../../src/testing/ModelTest.js"

const Commands = Command.group(Command.make("go", { description: "One emission", payload: { step: Schema.String } }))

const solid = (width: number, height: number, value: number) =>
  Frame.make(width, height, new Uint8Array(width * height * 3).fill(value))

/** A quarter of a second of stereo at 16 kHz, starting 1, -1, 2, -2, 3, -3. */
const quarter = new Int16Array(2 * 4000).map((_, i) => (i % 2 === 0 ? 1 : -1) * (1 + (i >> 1)))

/** A model whose one command runs one emission named by `step` and answers what came of it. */
const model = Model.make(Commands, {
  name: "tracks",
  frameSize: { width: 4, height: 2 },
  outputs: {
    main_video: Output.video(),
    depth: Output.video({ description: "Depth" }),
    voice: Output.audio({ channels: 2, sampleRate: 16000 })
  },
  session: ({ ctx }) =>
    Effect.succeed({
      handlers: {
        go: ({ step }) => {
          const attempt: Effect.Effect<void, unknown> = step === "block"
            ? ctx.emit([solid(4, 2, 1), solid(4, 2, 2)], {
              metadata: [{ i: 0 }, { i: 1 }],
              perFrame: true,
              tracks: { depth: solid(2, 2, 9) }
            })
            : step === "same-metadata"
            ? ctx.emit([solid(4, 2, 3), solid(4, 2, 4)], { metadata: { seed: 7 } })
            : step === "too-much-metadata"
            ? ctx.emit(solid(4, 2, 0), { metadata: "x".repeat(20_000) })
            : step === "bad-per-frame"
            ? ctx.emit([solid(4, 2, 0), solid(4, 2, 0)], { metadata: [1], perFrame: true })
            : step === "unknown-track"
            ? ctx.emit(solid(4, 2, 0), { tracks: { nope: solid(4, 2, 0) } as any })
            : step === "primary-as-extra"
            ? ctx.emit(solid(4, 2, 0), { tracks: { main_video: solid(4, 2, 0) } })
            : step === "extra-count"
            ? ctx.emit([solid(4, 2, 0), solid(4, 2, 0), solid(4, 2, 0)], {
              tracks: { depth: [solid(2, 2, 0), solid(2, 2, 0)] }
            })
            : step === "audio"
            ? Effect.zipRight(
              ctx.emitAudio("voice", quarter),
              ctx.emitAudio("voice", quarter)
            )
            : step === "audio-odd"
            ? ctx.emitAudio("voice", new Int16Array(3))
            : step === "audio-long"
            ? ctx.emitAudio("voice", new Int16Array(2 * 16001))
            : step === "audio-float"
            ? ctx.emitAudio("voice", new Float32Array(2) as any)
            : Effect.void
          return Effect.flatMap(
            Effect.either(attempt),
            (result) =>
              ctx.send({ step, error: result._tag === "Left" ? (result.left as { message: string }).message : null })
          )
        }
      },
      run: Effect.never
    })
})

const go = (session: ModelTest.TestSession, step: string) =>
  Effect.gen(function*() {
    yield* session.send({ type: "go", data: { step } })
    const messages = yield* session.messages
    return ([...messages].reverse().find((m) => (m as { step: string }).step === step) as { error: string | null })
      .error
  })

describe("output tracks in a session", () => {
  it("refuses declarations that cannot be served", () => {
    const declare = (outputs: Output.Outputs, inputs = {}) => () =>
      Model.make(Commands, {
        name: "bad",
        outputs,
        inputs,
        session: () => Effect.succeed({ handlers: { go: () => Effect.void }, run: Effect.never })
      })
    expect(declare({ sound: Output.audio(), main_video: Output.video() })).toThrow(
      `the first output track must be a video track (the primary one, where ctx.emit goes); "sound" is audio`
    )
    expect(declare({})).toThrow("outputs must declare at least one video track")
    expect(declare({ "a b": Output.video() })).toThrow(`output track name "a b"`)
    expect(() => Output.audio({ sampleRate: 22050 })).toThrow("sampleRate must be one of")
    expect(() => Output.audio({ channels: 3 as 1 })).toThrow("channels must be 1 or 2")
  })

  it.live("per-frame metadata and another track's frames ride with the block, frame for frame", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        expect(yield* go(session, "block")).toBeNull()
        const [first, second] = yield* session.frames(2)
        expect(first!.metadata).toEqual({ i: 0 })
        expect(second!.metadata).toEqual({ i: 1 })
        // one frame of `depth` goes with every frame of the block
        expect(first!.extras!.map((e) => [e.track, e.frame.width, e.frame.data[0]])).toEqual([["depth", 2, 9]])
        expect(second!.extras![0]!.frame.data[0]).toBe(9)
        expect(yield* go(session, "same-metadata")).toBeNull()
        const [third, fourth] = yield* session.frames(2)
        expect([third!.metadata, fourth!.metadata]).toEqual([{ seed: 7 }, { seed: 7 }])
        expect(third!.extras).toBeUndefined()
      })))

  it.live("each malformed emission is refused with what is wrong, and the session goes on", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        expect(yield* go(session, "too-much-metadata")).toBe(
          "the frame metadata takes 20002 bytes of JSON; the limit is 16384"
        )
        expect(yield* go(session, "bad-per-frame")).toBe(
          "perFrame metadata must be an array of one value per frame: the block has 2 frame(s), the metadata 1"
        )
        expect(yield* go(session, "unknown-track")).toBe(
          `tracks.nope: no such video output track; the other video tracks are "depth"`
        )
        expect(yield* go(session, "primary-as-extra")).toContain(
          "tracks.main_video: the primary video track's frames are the first argument of emit"
        )
        expect(yield* go(session, "extra-count")).toBe(
          "tracks.depth has 2 frames; give one, or one per frame of the block (3)"
        )
        expect(yield* go(session, "audio-odd")).toBe(
          `audio for "voice" has 3 samples, not a multiple of its 2 channels`
        )
        expect(yield* go(session, "audio-long")).toBe(`audio for "voice" is 1.00 s long; a chunk holds at most 1 s`)
        expect(yield* go(session, "audio-float")).toContain(`audio for "voice" must be an Int16Array`)
        expect(yield* session.endReason).toBeUndefined()
      })))

  it.live("audio chunks are released in order, each a copy with its track's format", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const chunks = yield* session.session.audio!
        expect(yield* go(session, "audio")).toBeNull()
        const first = yield* Queue.take(chunks)
        const second = yield* Queue.take(chunks)
        expect(first).toMatchObject({ track: "voice", index: 0, sampleRate: 16000, channels: 2 })
        expect([...first.samples.subarray(0, 6)]).toEqual([1, -1, 2, -2, 3, -3])
        expect(first.samples).not.toBe(quarter)
        expect(second.index).toBe(1)
        // back to back: the second is due when the first (a quarter of a second) has played
        expect(second.emittedAt - first.emittedAt).toBe(250)
      })))
})
