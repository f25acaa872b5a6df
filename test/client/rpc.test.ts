import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Stream } from "effect"
import { ReactorClient } from "../../src/client/index.js"
import * as Model from "../../src/model/Model.js"
import * as CommandError from "../../src/protocol/CommandError.js"
import * as Server from "../../src/server/Server.js"
import * as Fixture from "../fixtures/client-model.js"

const server = (options: { readonly token?: string } = {}) =>
  Server.start(Fixture.make(), { host: "127.0.0.1", port: 0, maxSessions: 4, ...options }).pipe(
    Effect.provide(Model.ConfigInput.empty)
  )

describe("typed client over the rpc transport", () => {
  it.live("round-trips a typed command to its ack", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      const ack = yield* client.commands.set_speed({ speed: 2 })
      expect(ack.command).toBe("set_speed")
      expect(typeof ack.frame).toBe("number")
      // defaults apply, and a command without payload takes no argument
      expect((yield* client.commands.set_speed()).command).toBe("set_speed")
      expect((yield* client.commands.reset()).command).toBe("reset")
      expect(client.model.name).toBe("client-fixture")
    }).pipe(Effect.scoped))

  it.live("answers an out-of-range value with a typed InvalidPayload", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      const error = yield* Effect.flip(client.commands.set_speed({ speed: 10 }))
      expect(error).toBeInstanceOf(CommandError.InvalidPayload)
      expect(error._tag).toBe("InvalidPayload")
      if (error._tag !== "InvalidPayload") throw error
      expect(error.code).toBe("invalid_payload")
      expect(error.issues).toEqual([{ path: "speed", message: expect.stringContaining("10") }])
      expect(error.message).toContain("set_speed")
      const tooLong = yield* Effect.flip(client.commands.set_label({ label: "x".repeat(21) }))
      expect(tooLong._tag).toBe("InvalidPayload")
      const failed = yield* Effect.flip(client.commands.fail())
      expect(failed).toBeInstanceOf(CommandError.HandlerFailed)
      expect(failed.message).toContain("the fixture's fail command")
      // the session goes on
      expect((yield* client.commands.set_speed({ speed: 3 })).command).toBe("set_speed")
    }).pipe(Effect.scoped))

  it.live("streams frames with their bytes", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      const frames = Chunk.toReadonlyArray(yield* client.frames.pipe(Stream.take(10), Stream.runCollect))
      expect(frames).toHaveLength(10)
      for (const frame of frames) {
        expect(frame).toMatchObject({ width: 32, height: 24, codec: "rgb" })
        expect(frame.bytes).toBeInstanceOf(Uint8Array)
        expect(frame.bytes.length).toBe(32 * 24 * 3)
        expect(typeof frame.capturedAt).toBe("number")
      }
      const indices = frames.map((frame) => frame.index)
      expect(indices).toEqual([...indices].sort((a, b) => a - b))
      const jpeg = yield* client.framesWith({ format: "jpeg", quality: 50 }).pipe(Stream.take(2), Stream.runCollect)
      for (const frame of jpeg) {
        expect(frame.codec).toBe("jpeg")
        expect([frame.bytes[0], frame.bytes[1]]).toEqual([0xff, 0xd8])
      }
    }).pipe(Effect.scoped))

  it.live("drops the oldest frames for a slow reader", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      let stalled = false
      const frames = Chunk.toReadonlyArray(
        yield* client.framesWith({ buffer: 2 }).pipe(
          // stalls after the first frame while the 60 fps model goes on
          Stream.tap(() =>
            stalled ? Effect.void : Effect.sleep(1500).pipe(Effect.ensuring(Effect.sync(() => stalled = true)))
          ),
          Stream.take(12),
          Stream.runCollect
        )
      )
      expect(frames[frames.length - 1]!.dropped).toBeGreaterThan(0)
      const gaps = frames.slice(1).map((frame, i) => frame.index - frames[i]!.index)
      expect(Math.max(...gaps)).toBeGreaterThan(1)
    }).pipe(Effect.scoped))

  it.live("applies commands in the order they were sent", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      const seqs = Array.from({ length: 200 }, (_, i) => i)
      const fibers = yield* Effect.forEach(seqs, (seq) => Effect.fork(client.commands.push({ seq })))
      const acks = yield* Effect.forEach(fibers, Fiber.join)
      expect(Fixture.pushed.get(client.sessionId)).toEqual(seqs)
      const frames = acks.map((ack) => ack.frame)
      expect(frames).toEqual([...frames].sort((a, b) => a - b))
    }).pipe(Effect.scoped))

  it.live("ends the frame stream when the session stops", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      const first = yield* Deferred.make<void>()
      const reading = yield* Effect.fork(
        Stream.runCount(Stream.tap(client.frames, () => Deferred.succeed(first, undefined)))
      )
      yield* Deferred.await(first) // a frame has come: the stream is open
      yield* client.stop
      const count = yield* Fiber.join(reading).pipe(Effect.timeout("5 seconds"))
      expect(count).toBeGreaterThan(0)
      yield* client.stop // already stopped: fine
    }).pipe(Effect.scoped))

  it.live("attaches to a running session, with the server's token", () =>
    Effect.gen(function*() {
      const { url } = yield* server({ token: "secret" })
      const refused = yield* Effect.flip(ReactorClient.make(Fixture.Commands, { url }))
      expect(refused.code).toBe("unauthorized")
      const first = yield* ReactorClient.make(Fixture.Commands, { url, token: "secret" })
      yield* first.commands.push({ seq: 1 })
      const second = yield* ReactorClient.make(Fixture.Commands, { url, token: "secret", sessionId: first.sessionId })
      expect(second.sessionId).toBe(first.sessionId)
      yield* second.commands.push({ seq: 2 })
      expect(Fixture.pushed.get(first.sessionId)).toEqual([1, 2])
      // one connection drives a session: the newer one replaced the first, which does not reconnect
      const replaced = yield* Effect.flip(first.commands.push({ seq: 3 }))
      expect(replaced._tag).toBe("RpcClientError")
      yield* second.commands.push({ seq: 4 })
      expect(Fixture.pushed.get(first.sessionId)).toEqual([1, 2, 4])
      const missing = yield* Effect.flip(
        ReactorClient.make(Fixture.Commands, { url, token: "secret", sessionId: "nope" })
      )
      expect(missing.code).toBe("session_not_found")
    }).pipe(Effect.scoped))

  it.live("answers a plain GET on the rpc route with an error body, leaving the live connection in place", () =>
    Effect.gen(function*() {
      const { url } = yield* server()
      const client = yield* ReactorClient.make(Fixture.Commands, { url })
      const response = yield* Effect.promise(() => fetch(`${url}/sessions/${client.sessionId}/transport/rpc`))
      expect(response.status).toBe(400)
      expect(yield* Effect.promise(() => response.json())).toMatchObject({ code: "invalid_request" })
      const ack = yield* client.commands.reset()
      expect(ack.command).toBe("reset")
    }).pipe(Effect.scoped))
})
