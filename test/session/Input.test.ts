/**
 * Input tracks in an in-process session: the latest frame and the stream a model reads, the drop-oldest rule of a
 * reader that falls behind, and the specific refusal of every malformed frame (the session goes on).
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Option, Stream, TestClock } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Input from "../../src/model/Input.js"
import * as Model from "../../src/model/Model.js"
import { SessionContext } from "../../src/model/SessionContext.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import * as InputTracks from "../../src/session/InputTracks.js"
import { ModelTest } from "../../src/testing/index.js"
import { model } from "../fixtures/input-model.js"

const rgb = (width: number, height: number, value: number): Input.Incoming => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(value)
})

/** Lets the model's fibers (its frame reader, its mailbox) run. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const messagesOf = (session: ModelTest.TestSession, type: string) =>
  Effect.map(session.messages, (all) => all.filter((m: any) => m.type === type) as Array<any>)

describe("input tracks", () => {
  it.effect("the model reads no frame before the first, then the newest with its size and times", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        yield* session.send({ type: "latest" })
        expect((yield* messagesOf(session, "latest"))[0].frame).toBeNull()
        yield* TestClock.adjust(1234)
        yield* session.pushInput("cam", { ...rgb(8, 6, 7), capturedAt: 1000 })
        yield* session.pushInput("cam", rgb(16, 12, 9))
        yield* session.send({ type: "latest" })
        expect((yield* messagesOf(session, "latest"))[1].frame).toEqual({
          track: "cam",
          index: 1,
          width: 16,
          height: 12,
          first: 9,
          bytes: 16 * 12 * 3,
          receivedAt: 1234,
          capturedAt: null
        })
        yield* settle
        // Its stream reader saw both, in order, the first with the sender's capture time.
        const frames = yield* messagesOf(session, "frame")
        expect(frames.map((f) => [f.index, f.first, f.capturedAt])).toEqual([[0, 7, 1000], [1, 9, null]])
      })))

  it.effect("each refusal is specific, and the session and its track go on", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const refused = (track: string, frame: Input.Incoming) => Effect.flip(session.pushInput(track, frame))
        const unknown = yield* refused("webcam", rgb(2, 2, 0))
        expect(unknown).toMatchObject({ _tag: "InputError", code: "unknown_track", track: "webcam" })
        expect(unknown.message).toContain(`"cam"`)
        const short = yield* refused("cam", { width: 4, height: 4, data: new Uint8Array(47) })
        expect(short).toMatchObject({ code: "invalid_input" })
        expect(short.message).toBe("the frame has 47 bytes of pixels but 4x4 RGB needs 48")
        expect((yield* refused("cam", { ...rgb(4, 4, 0), format: "i420" })).message).toContain(`format "i420"`)
        expect((yield* refused("cam", { width: 0, height: 4, data: new Uint8Array(0) })).code).toBe("invalid_input")
        expect((yield* refused("cam", { width: 2.5, height: 4, data: new Uint8Array(30) })).code).toBe("invalid_input")
        expect((yield* refused("cam", { width: 2, height: 2, data: [1, 2] as any })).code).toBe("invalid_input")
        const big = yield* refused("cam", rgb(321, 10, 0))
        expect(big).toMatchObject({ code: "input_too_large" })
        expect(big.message).toBe(`the frame is 321x10; input "cam" accepts at most 320x240`)
        expect((yield* refused("__proto__", rgb(2, 2, 0))).code).toBe("unknown_track")
        // None of them reached the model; a good frame still does.
        yield* session.pushInput("cam", rgb(2, 2, 5))
        yield* settle
        expect((yield* messagesOf(session, "frame")).map((f) => f.first)).toEqual([5])
        expect(yield* session.endReason).toBeUndefined()
      })))

  it.effect("after the session ended a frame is refused with session_closed", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        yield* session.stop
        expect(yield* Effect.flip(session.pushInput("cam", rgb(2, 2, 0)))).toMatchObject({ code: "session_closed" })
      })))

  it.effect("a reader that falls behind loses the oldest frames, keeps the newest, and the drops are counted", () =>
    Effect.gen(function*() {
      const tracks = yield* InputTracks.make({ cam: Input.video({ description: "cam" }) }, 2)
      const cam = tracks.track("cam")!
      yield* tracks.push("cam", rgb(1, 1, 0))
      // The reader starts with the held frame, then waits for the next one.
      const reader = yield* Effect.fork(Stream.runCollect(Stream.take(cam.frames, 4)))
      yield* settle
      for (let i = 1; i <= 6; i++) yield* tracks.push("cam", rgb(1, 1, i))
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(reader)).map((frame) => frame.data[0])
      expect(seen[0]).toBe(0)
      expect(seen.at(-1)).toBe(6)
      expect(seen).toHaveLength(4)
      expect(yield* cam.dropped).toBe(3)
      expect(Option.map(yield* cam.latest, (frame) => frame.index)).toEqual(Option.some(6))
      expect(tracks.track("other")).toBeUndefined()
      // The end of the session ends every reader's stream.
      const waiting = yield* Effect.fork(Stream.runCollect(cam.frames))
      yield* settle
      yield* tracks.shutdown
      expect(Chunk.toReadonlyArray(yield* Fiber.join(waiting)).map((frame) => frame.index)).toEqual([6])
    }))

  it.effect("asking for an undeclared track is the model's bug: its session fails naming the declared tracks", () =>
    Effect.gen(function*() {
      const wrong = Model.make({
        name: "wrong",
        commands: Command.group(),
        inputs: { cam: Input.video({ description: "cam" }) },
        session: () =>
          Effect.map(SessionContext, (ctx) => {
            ctx.input("webcam")
            return { handlers: {}, run: Effect.never }
          })
      })
      const reason = yield* ModelTest.run(wrong, (session) => session.ended)
      expect(reason).toMatchObject({ _tag: "ModelFailed" })
      expect(EndReason.describe(reason)).toContain(
        `ctx.input("webcam"): the model declares no such input track; it declares cam`
      )
    }))

  it("a model declares only well-named video inputs", () => {
    expect(() => Input.video({ description: "x", maxWidth: 0 })).toThrow("maxWidth must be an integer from 1 to 8192")
    expect(() => Input.checkDeclared("m", { "main_video": Input.video({ description: "x" }) })).toThrow("main_video")
    expect(() => Input.checkDeclared("m", { "a b": Input.video({ description: "x" }) })).toThrow(`"a b"`)
  })
})
