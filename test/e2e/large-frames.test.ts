/**
 * Large frames never starve the text channel (issue 15, fault 5): a client that reads continuously gets its pongs,
 * acks and stats while raw RGB frames bigger than its text budget flow, and is not closed; a frame too large for the
 * socket's budget is skipped and counted, not sent; only a client that does not read at all is closed with 4429.
 * (The case was 4096x4096 RGB at 5 fps with the default budgets; here the budgets are lowered through the
 * config so that the same condition arises with frames a CI machine can afford.)
 */
import { Chunk, Effect, Fiber, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { ReactorClient } from "../../src/client/index.js"
import { Commands } from "../fixtures/server-model.js"
import { Client, connect, http, sleep, startServer, startSession } from "./helpers.js"

/** Settles with "closed <code>" if the socket closes first. */
const orClosed = <A>(client: Client, promise: Promise<A>): Promise<A | string> =>
  Promise.race([promise, client.closed.then(({ code, reason }) => `closed ${code} ${reason}`)])

describe("large frames and the text channel", () => {
  it("a client that reads gets its pongs and acks while RGB frames bigger than its text budget flow", async () => {
    // 2048x2048 RGB is 12 MiB a frame, above a 1 MiB text budget: today's rule closed the client as "does not read"
    const server = await startServer(
      // (a long idle timeout: on a loaded machine a 12 MiB frame may take a while to make, and liveness is not
      // what this checks)
      { maxBufferedTextBytes: 1024 * 1024, statsIntervalMs: 200, idleTimeoutMs: 60_000 },
      { width: 2048, height: 2048, fps: 5 }
    )
    try {
      const { client, session } = await connect(server, "?format=rgb")
      client.keepFrames = false
      for (let round = 0; round < 4; round++) {
        expect(await orClosed(client, client.waitFrames(1, 20_000))).toBeUndefined()
        client.runtime("ping")
        client.command("set_color", { r: round }, round)
        expect(await orClosed(client, client.next("pong", 20_000))).toMatchObject({ type: "pong" })
        expect(await orClosed(client, client.next((m) => m.type === "commandAck" && m.data.id === round, 20_000)))
          .toMatchObject({ data: { id: round, command: "set_color" } })
      }
      expect(await orClosed(client, client.next((m) => m.type === "stats" && m.data.frames >= 4, 20_000)))
        .toMatchObject({ type: "stats" })
      expect(client.headers.every((h) => h.width === 2048 && h.height === 2048)).toBe(true)
      // its session's end reaches it too, behind whatever frame was on its way, and the close is a clean one
      expect((await http(server, "DELETE", `/sessions/${session.session_id}`)).status).toBe(200)
      expect(await orClosed(client, client.next("sessionEnded", 20_000))).toMatchObject({ type: "sessionEnded" })
      expect((await client.closed).code).toBe(1000)
    } finally {
      await server.close()
    }
  }, 90_000)

  it(
    "a frame larger than maxFrameBytes is skipped and counted in stats and /info, and the client is answered",
    async () => {
      // the fixture's 64x48 RGB frame is 9,216 bytes; of noise, a JPEG at quality 100 is ~4.5 KB
      const server = await startServer(
        { maxSessions: 2, maxFrameBytes: 3000, statsIntervalMs: 200 },
        { fps: 30, noisy: true }
      )
      try {
        const { client, session } = await connect(server, "?format=rgb")
        client.runtime("ping")
        client.command("set_color", { r: 1 }, "c")
        await client.next("pong")
        await client.next((m) => m.type === "commandAck" && m.data.id === "c")
        const stats = await client.next((m) => m.type === "stats" && m.data.dropped >= 5, 10_000)
        expect(stats.data.frames).toBe(0)
        expect(stats.data.frames_generated).toBeGreaterThanOrEqual(5)
        expect(client.frameCount).toBe(0)
        const info = await http(server, "GET", `/sessions/${session.session_id}/info`)
        expect(info.body.stats.dropped_frames).toBeGreaterThanOrEqual(stats.data.dropped)
        await client.close()
        // JPEG frames over the limit are skipped the same way
        const jpeg = await connect(server, "?format=jpeg&quality=100")
        const jpegStats = await jpeg.client.next((m) => m.type === "stats" && m.data.dropped >= 5, 10_000)
        expect(jpegStats.data.frames).toBe(0)
        await jpeg.client.close()
      } finally {
        await server.close()
      }
    },
    30_000
  )

  it("a client that does not read at all is still closed once its text piles up", async () => {
    const server = await startServer({
      maxBufferedTextBytes: 64 * 1024,
      maxBufferedBytes: 64 * 1024,
      maxFrameBytes: 64 * 1024,
      maxCommandsPerSecond: 1_000_000,
      commandBurst: 1_000_000,
      maxMessagesPerSecond: 1_000_000,
      statsIntervalMs: 200
    })
    try {
      const { client, session } = await connect(server, "?format=rgb")
      client.keepFrames = false
      ;(client.ws as any)._socket.pause()
      const text = "x".repeat(1000)
      // each echo comes back as an ack and a ~1 KB model message: far more than the kernel's buffers hold
      let state = "running"
      for (let batch = 0; batch < 40 && state === "running"; batch++) {
        for (let i = 0; i < 1000; i++) client.command("echo", { text }, i)
        await sleep(200)
        // (on a loaded machine the flooded server may take longer than fetch's connect timeout: ask again)
        state = await http(server, "GET", `/sessions/${session.session_id}/info`).then(
          (answer) => answer.body.state,
          () => "running"
        )
      }
      // the server gave up on the client: its session waits for it to come back
      expect(state).toBe("orphaned")
      ;(client.ws as any)._socket.resume()
      // what the client reads ends with the 4429 close, or the connection is cut when the close was not read in time
      expect([4429, 1006]).toContain((await client.closed).code)
    } finally {
      await server.close()
    }
  }, 60_000)

  it(
    "RPC: a frame over maxFrameBytes is skipped and counted; smaller ones flow and commands are answered",
    async () => {
      // the fixture's 64x48 RGB frame is 9,216 bytes, its flat JPEG a few hundred
      const server = await startServer({ maxFrameBytes: 4096 }, { fps: 30 })
      try {
        const session = await startSession(server)
        const dropped = async () =>
          (await http(server, "GET", `/sessions/${session.session_id}/info`)).body.stats.dropped_frames as number
        const outcome = await Effect.runPromise(
          Effect.gen(function*() {
            const client = yield* ReactorClient.make(Commands, { url: server.url, sessionId: session.session_id })
            const rgb: Array<unknown> = []
            const reader = yield* Effect.fork(
              client.framesWith({ format: "rgb" }).pipe(
                Stream.runForEach((frame) => Effect.sync(() => rgb.push(frame)))
              )
            )
            const ack = yield* client.commands.set_color({ r: 5 })
            // a round trip of frames: the JPEG stream delivers while every RGB frame is skipped
            const jpeg = Chunk.toReadonlyArray(
              yield* client.framesWith({ format: "jpeg" }).pipe(Stream.take(3), Stream.runCollect)
            )
            for (let i = 0; i < 100 && (yield* Effect.promise(dropped)) < 5; i++) yield* Effect.sleep(100)
            yield* Fiber.interrupt(reader)
            return { ack, jpeg, rgb: rgb.length, dropped: yield* Effect.promise(dropped) }
          }).pipe(Effect.scoped)
        )
        expect(outcome.ack.command).toBe("set_color")
        expect(outcome.jpeg.map((frame) => frame.codec)).toEqual(["jpeg", "jpeg", "jpeg"])
        expect(outcome.rgb).toBe(0)
        expect(outcome.dropped).toBeGreaterThanOrEqual(5)
      } finally {
        await server.close()
      }
    },
    30_000
  )
})
