/**
 * 04: the typed client. Drives a session of the prompt model (01) on a running server from TypeScript; the model's
 * own command declarations type every call. Serve the model, then run the client:
 * `npx reactor run examples/01-prompt.ts` and `npx tsx examples/04-typed-client.ts [http://localhost:8080]`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { ReactorClient } from "effect-reactor/client"
import { Commands } from "./01-prompt.js"

const program = Effect.gen(function*() {
  const reactor = yield* ReactorClient.make(Commands, {
    url: process.argv[2] ?? "http://localhost:8080",
    token: process.env.REACTOR_TOKEN
  })
  yield* Console.log(`session ${reactor.sessionId} of ${reactor.model.name}`)

  // Typed commands: a wrong field name or type does not compile; a value out of range is a typed error.
  const ack = yield* reactor.commands.set_prompt({ prompt: "a rainy night in the city" })
  yield* Console.log(`set_prompt applied before frame ${ack.frame}`)
  yield* reactor.commands.set_speed({ speed: 9 }).pipe(
    Effect.catchTag("InvalidPayload", (error) => Console.log(`refused: ${error.message}`))
  )
  yield* reactor.commands.set_speed({ speed: 2 })

  // Frames arrive as a Stream of raw RGB frames.
  const frames = yield* reactor.frames.pipe(Stream.take(60), Stream.runCollect)
  const [first] = frames
  const last = [...frames].at(-1)
  if (first !== undefined && last !== undefined) {
    const seconds = (last.capturedAt - first.capturedAt) / 1000
    yield* Console.log(
      `${frames.length} frames of ${first.width}x${first.height}, ${(frames.length / seconds).toFixed(1)} fps, ` +
        `${last.dropped} dropped`
    )
  }
}).pipe(Effect.scoped) // closing the scope stops the session this client started

NodeRuntime.runMain(program)
