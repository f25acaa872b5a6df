/**
 * Input frames into a session whose model runs in a worker thread: they are checked on the server (the refusals are
 * the in-process ones), their buffers move to the worker without a copy, and while the model's thread is behind the
 * server keeps only the newest frame per track (the older ones dropped and counted), so the model sees the newest.
 */
import { Effect, Exit, Fiber, Logger, LogLevel, Queue, Scope } from "effect"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import * as WorkerReactor from "../../src/host/WorkerReactor.js"
import type * as Input from "../../src/model/Input.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import type * as Session from "../../src/session/Session.js"

const fixture = resolve("test/fixtures/input-model.ts")
const dir = mkdtempSync(join(tmpdir(), "reactor-inputs-"))

const rgb = (width: number, height: number, value: number): Input.Incoming => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(value)
})

/** Runs `test` against a session of the fixture in a worker, with its messages queue. */
const withSession = (
  test: (session: Session.Session, messages: Queue.Dequeue<unknown>) => Effect.Effect<void, unknown, Scope.Scope>
) =>
  Effect.gen(function*() {
    const reactor = yield* WorkerReactor.make({ module: fixture, stopDeadlineMs: 1000 })
    const session = yield* reactor.start()
    const messages = yield* session.messages
    yield* test(session, messages)
    yield* session.stop(EndReason.Stopped({ by: "test" }))
  }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None), Effect.runPromise)

/** The next model message of `type`. */
const next = (messages: Queue.Dequeue<unknown>, type: string): Effect.Effect<any> =>
  Effect.flatMap(Queue.take(messages), (m: any) => (m.type === type ? Effect.succeed(m) : next(messages, type)))

describe("input tracks of a worker session", () => {
  it(
    "a frame reaches the model in its thread, its buffer moved, not copied",
    () =>
      withSession((session, messages) =>
        Effect.gen(function*() {
          const frame = { ...rgb(320, 240, 42), capturedAt: 1700000000000 }
          yield* session.pushInput("cam", frame)
          // 230,400 bytes handed over: the server's copy is gone (detached), the worker has the pixels.
          expect(frame.data.byteLength).toBe(0)
          const seen = yield* next(messages, "frame")
          expect(seen).toMatchObject({
            track: "cam",
            index: 0,
            width: 320,
            height: 240,
            first: 42,
            bytes: 230400,
            capturedAt: 1700000000000
          })
          // The model's answer comes back as output frames.
          const frames = yield* session.frames(4)
          const out = yield* frames.take
          expect(out.frame.data[0]).toBe(42)
        })
      ),
    30_000
  )

  it(
    "frames are checked on the server with the same specific errors",
    () =>
      withSession((session) =>
        Effect.gen(function*() {
          expect(yield* Effect.flip(session.pushInput("webcam", rgb(2, 2, 0)))).toMatchObject({ code: "unknown_track" })
          expect(yield* Effect.flip(session.pushInput("cam", rgb(640, 480, 0)))).toMatchObject({
            code: "input_too_large"
          })
          const short = yield* Effect.flip(session.pushInput("cam", { width: 4, height: 4, data: new Uint8Array(3) }))
          expect(short).toMatchObject({
            code: "invalid_input",
            message: "the frame has 3 bytes of pixels but 4x4 RGB needs 48"
          })
        })
      ),
    30_000
  )

  it(
    "while the model's thread is busy the newest frame waits and older ones are dropped and counted",
    () =>
      withSession((session, messages) =>
        Effect.gen(function*() {
          const held = join(dir, `held-${Date.now()}`)
          const release = join(dir, `release-${Date.now()}`)
          // The handler makes the worker spin; its ack comes only after the spin, so it is not awaited here.
          const hold = yield* Effect.fork(session.submit({ type: "hold", data: { held, release } }))
          while (!existsSync(held)) yield* Effect.sleep(10)
          for (let i = 0; i < 10; i++) yield* session.pushInput("cam", rgb(160, 120, i))
          writeFileSync(release, "1")
          expect(Exit.isSuccess(yield* Fiber.await(hold))).toBe(true)
          const firsts: Array<number> = []
          while (firsts.at(-1) !== 9) firsts.push((yield* next(messages, "frame")).first)
          // Two were in flight before the worker stopped reading; of the eight that waited only the newest went on.
          expect(firsts).toEqual([0, 1, 9])
          expect((yield* session.stats).droppedInputFrames).toBe(7)
        })
      ),
    30_000
  )

  it(
    "after the session ended a frame is refused with session_closed",
    () =>
      withSession((session) =>
        Effect.gen(function*() {
          yield* session.stop(EndReason.Stopped({ by: "test" }))
          expect(yield* Effect.flip(session.pushInput("cam", rgb(2, 2, 0)))).toMatchObject({ code: "session_closed" })
        })
      ),
    30_000
  )
})
