/**
 * A Python model's input track (`VideoIn`): frames pushed into the session (as the WebSocket and WebRTC transports
 * do) reach `get_ctx().get_track("webcam").latest()`, and the example webcam filter sends them back inverted; a
 * frame larger than the declared maximum is refused by the runtime before it reaches Python.
 */
import { Effect, Logger, LogLevel } from "effect"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import * as PythonReactor from "../../src/host/python/PythonReactor.js"
import * as EndReason from "../../src/protocol/EndReason.js"

describe("a Python model's input track", () => {
  it("gets the pushed frames and answers with the filtered picture", async () => {
    const result = await Effect.gen(function*() {
      const reactor = yield* PythonReactor.make({ module: resolve("examples/python/webcam_filter.py") })
      expect(reactor.model.inputs.webcam?.maxWidth).toBe(1280)
      const session = yield* reactor.start()
      const frames = yield* session.frames(4)
      const width = 8
      const height = 4
      const data = new Uint8Array(width * height * 3).fill(10)
      yield* session.pushInput("webcam", { width, height, data })
      const out = yield* frames.take
      const tooBig = yield* Effect.flip(
        session.pushInput("webcam", { width: 4000, height: 10, data: new Uint8Array(4000 * 10 * 3) })
      )
      const reason = yield* session.stop(EndReason.Stopped({ by: "test" }))
      return { out, tooBig, reason }
    }).pipe(
      Effect.scoped,
      Logger.withMinimumLogLevel(LogLevel.None),
      Effect.runPromise
    )
    expect([result.out.frame.width, result.out.frame.height]).toEqual([8, 4])
    expect([...result.out.frame.data.subarray(0, 3)]).toEqual([245, 245, 245])
    expect(result.tooBig.code).toBe("input_too_large")
    expect(result.reason._tag).toBe("Stopped")
  }, 60_000)
})
