/**
 * Type-level tests of the typed client, checked by `npm run typecheck` (tsc): every `@ts-expect-error` must be an
 * error and every `expectTypeOf` must hold, or the typecheck fails. Nothing here runs.
 */
import { Effect } from "effect"
import { expectTypeOf } from "vitest"
import type * as ReactorClient from "../../src/client/ReactorClient.js"
import type * as Command from "../../src/model/Command.js"
import type * as CommandError from "../../src/protocol/CommandError.js"
import type * as Client from "../../src/protocol/RpcContract.js"
import type * as Fixture from "../fixtures/client-model.js"

declare const commands: ReactorClient.Commands<Command.CommandsOf<typeof Fixture.Commands>>

Effect.gen(function*() {
  // Each command is a method typed by its payload; it answers an Ack.
  expectTypeOf(yield* commands.set_speed({ speed: 1 })).toEqualTypeOf<Client.Ack>()
  // A payload of defaults only may be left out; so may an empty one.
  yield* commands.set_speed()
  yield* commands.reset()
  yield* commands.push({ seq: 1 })
  // @ts-expect-error: unknown field
  yield* commands.push({ sequence: 1 })
  // @ts-expect-error: wrong type
  yield* commands.set_label({ label: 1 })
  // @ts-expect-error: missing a required field
  yield* commands.push({})
  // @ts-expect-error: no such command
  yield* commands.jump({})
  // It fails with the wire's command errors or the client's own transport error, by tag.
  const failed = yield* Effect.flip(commands.fail())
  expectTypeOf(failed._tag).toEqualTypeOf<"RpcClientError" | CommandError.CommandError["_tag"] | "WireError">()
})
