/**
 * The command mailbox actor: one fiber drains a bounded queue, decoding each `{type, data}` against its command's
 * payload schema and applying the handlers strictly in arrival order. A bad command or a failing handler earns its
 * sender a specific error and never ends the session.
 */
import type { Rpc, RpcGroup } from "@effect/rpc"
import { Cause, Deferred, Effect, Either, Exit, Queue, Schema, type Scope } from "effect"
import type * as Command from "../model/Command.js"
import { formatIssues } from "../model/Model.js"
import * as CommandError from "./CommandError.js"

/** A command as a client sent it, not yet validated. */
export interface Incoming {
  readonly type: unknown
  readonly data?: unknown
  /** An optional client-chosen id echoed in the ack. */
  readonly id?: string | number | undefined
}

/** A command that was applied. */
export interface Ack {
  readonly command: string
  readonly id?: string | number | undefined
  /** Index of the first frame generated after the handler ran. */
  readonly frame: number
  /** When the command was received (epoch ms). */
  readonly receivedAt: number
}

/** The mailbox of one session. */
export interface Mailbox {
  /** Queues a command and waits until it is applied or rejected. Suspends while the mailbox is full. */
  readonly submit: (incoming: Incoming) => Effect.Effect<Ack, CommandError.CommandError>
  /** Commands applied so far, and commands rejected so far. */
  readonly counts: Effect.Effect<{ readonly applied: number; readonly rejected: number }>
}

/** Options of a mailbox. */
export interface Options {
  readonly commands: RpcGroup.RpcGroup<any>
  readonly handlers: Command.Handlers<any, any>
  /** Provides what handlers need (the session context). */
  readonly provide: <A, E>(effect: Effect.Effect<A, E, any>) => Effect.Effect<A, E>
  /** Index of the next frame to be generated, read right after a handler ran. */
  readonly nextFrame: Effect.Effect<number>
  /** Called after each applied command. */
  readonly onApplied?: (ack: Ack) => Effect.Effect<void>
  /** Commands waiting at most. Default 256. */
  readonly capacity?: number
}

interface Item {
  readonly incoming: Incoming
  readonly receivedAt: number
  readonly reply: Deferred.Deferred<Ack, CommandError.CommandError>
}

const closed = new CommandError.SessionClosed({ message: "the session has ended; the command was not applied" })

const causeMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message)
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error)
}

/** Decodes an incoming command into its Rpc and payload, or the error its sender gets. */
export const decode = (
  commands: RpcGroup.RpcGroup<any>,
  incoming: Incoming
): Either.Either<{ readonly rpc: Rpc.AnyWithProps; readonly payload: unknown }, CommandError.CommandError> => {
  if (typeof incoming.type !== "string" || incoming.type === "") {
    return Either.left(new CommandError.InvalidMessage({ message: "a command needs a non-empty string \"type\"" }))
  }
  const rpc = commands.requests.get(incoming.type) as Rpc.AnyWithProps | undefined
  if (rpc === undefined) return Either.left(CommandError.UnknownCommand.of(incoming.type, [...commands.requests.keys()]))
  const data = incoming.data === undefined || incoming.data === null ? {} : incoming.data
  // Schema.Struct({}) accepts any value (it is TypeScript's `{}`), so a command without parameters checks by hand.
  const fields = (rpc.payloadSchema as { readonly fields?: object }).fields
  if (fields !== undefined && Object.keys(fields).length === 0) {
    if (typeof data !== "object" || Array.isArray(data)) {
      return Either.left(CommandError.InvalidPayload.of(rpc._tag, [{
        path: "",
        message: `Expected an object of parameters, actual ${JSON.stringify(data)}`
      }]))
    }
    const extra = Object.keys(data)
    if (extra.length > 0) {
      return Either.left(CommandError.InvalidPayload.of(
        rpc._tag,
        extra.map((key) => ({ path: key, message: `is unexpected: "${rpc._tag}" takes no parameters` }))
      ))
    }
  }
  return Schema.decodeUnknownEither(rpc.payloadSchema as Schema.Schema<unknown, unknown>, {
    errors: "all",
    onExcessProperty: "error"
  })(data).pipe(
    Either.map((payload) => ({ rpc, payload })),
    Either.mapLeft((error) => CommandError.InvalidPayload.of(rpc._tag, formatIssues(error)))
  )
}

/** Starts a mailbox whose actor fiber lives in the current scope. */
export const make = (options: Options): Effect.Effect<Mailbox, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<Item>(options.capacity ?? 256)
    let applied = 0
    let rejected = 0

    const apply = (item: Item): Effect.Effect<Ack, CommandError.CommandError> =>
      Effect.gen(function*() {
        const { payload, rpc } = yield* decode(options.commands, item.incoming)
        const handler = (options.handlers as Record<string, (payload: unknown) => Effect.Effect<unknown, unknown, any>>)[
          rpc._tag
        ]
        if (handler === undefined) {
          return yield* new CommandError.HandlerFailed({ command: rpc._tag, message: "the model has no handler for it" })
        }
        const exit = yield* options.provide(Effect.suspend(() => handler(payload))).pipe(Effect.exit)
        if (Exit.isFailure(exit)) {
          if (Cause.isInterruptedOnly(exit.cause)) return yield* closed
          yield* Effect.logWarning(`command "${rpc._tag}" failed`, exit.cause)
          return yield* new CommandError.HandlerFailed({
            command: rpc._tag,
            message: `the handler of "${rpc._tag}" failed: ${causeMessage(exit.cause)}`
          })
        }
        const frame = yield* options.nextFrame
        return { command: rpc._tag, id: item.incoming.id, frame, receivedAt: item.receivedAt }
      })

    const actor = Effect.forever(
      Effect.gen(function*() {
        const item = yield* Queue.take(queue)
        const exit = yield* apply(item).pipe(Effect.exit, Effect.onInterrupt(() => Deferred.fail(item.reply, closed)))
        if (Exit.isSuccess(exit)) {
          applied++
          if (options.onApplied) yield* options.onApplied(exit.value)
        } else rejected++
        yield* Deferred.complete(item.reply, exit)
      })
    )
    // Interruptible even when the session is started inside an uninterruptible region (acquireRelease, a layer).
    yield* Effect.forkScoped(Effect.interruptible(actor))
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const pending = yield* Queue.takeAll(queue)
        yield* Queue.shutdown(queue)
        for (const item of pending) yield* Deferred.fail(item.reply, closed)
      })
    )

    return {
      submit: (incoming) =>
        Effect.gen(function*() {
          if (yield* Queue.isShutdown(queue)) return yield* closed
          const reply = yield* Deferred.make<Ack, CommandError.CommandError>()
          const receivedAt = Date.now()
          const offered = yield* Queue.offer(queue, { incoming, receivedAt, reply }).pipe(
            Effect.catchAllCause(() => Effect.succeed(false))
          )
          if (!offered) return yield* closed
          return yield* Deferred.await(reply).pipe(
            Effect.onInterrupt(() => Effect.void)
          )
        }),
      counts: Effect.sync(() => ({ applied, rejected }))
    }
  })
