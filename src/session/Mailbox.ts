/**
 * The command mailbox actor: one fiber drains a bounded queue, decoding each `{type, data}` against its command's
 * payload schema and applying the handlers strictly in arrival order. A bad command or a failing handler earns its
 * sender a specific error and never ends the session.
 */
import type { Rpc, RpcGroup } from "@effect/rpc"
import { Cause, Effect, Either, Exit, Schema, type Scope } from "effect"
import type * as Command from "../model/Command.js"
import { formatIssues } from "../model/Model.js"
import * as CommandError from "./CommandError.js"
import * as Waiters from "./Waiters.js"

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
  /**
   * Queues a command and waits until it is applied or rejected. Suspends while the mailbox is full. `onSettled`, if
   * given, is called synchronously with the outcome as soon as it is known, by the fiber that settles it (the actor,
   * right after the handler ran): a transport can answer from there without waiting for the submitter to resume.
   */
  readonly submit: (
    incoming: Incoming,
    onSettled?: (exit: Exit.Exit<Ack, CommandError.CommandError>) => void
  ) => Effect.Effect<Ack, CommandError.CommandError>
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
  /** Settles the command once: calls the submitter's `onSettled` and resumes it. */
  readonly reply: (exit: Exit.Exit<Ack, CommandError.CommandError>) => void
}

const closedExit = (error: CommandError.CommandError) => Exit.fail(error)

const closedError = new CommandError.SessionClosed({ message: "the session has ended; the command was not applied" })

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

/**
 * Starts a mailbox whose actor fiber lives in the current scope. The queue is a bounded array with waiter callbacks:
 * a submit with room and an actor with commands waiting run without suspending, and a command's reply is a callback
 * (no `Deferred`, no queue internals per command).
 */
export const make = (options: Options): Effect.Effect<Mailbox, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Time comes from Effect's Clock (a TestClock in tests): when each command was received.
    const clock = yield* Effect.clock
    const capacity = Math.max(1, options.capacity ?? 256)
    const items: Array<Item> = []
    const actorWaiters: Waiters.Waiters = Waiters.make()
    const submitWaiters: Waiters.Waiters = Waiters.make()
    let closed = false
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
          if (Cause.isInterruptedOnly(exit.cause)) return yield* closedError
          yield* Effect.logWarning(`command "${rpc._tag}" failed`, exit.cause)
          return yield* new CommandError.HandlerFailed({
            command: rpc._tag,
            message: `the handler of "${rpc._tag}" failed: ${causeMessage(exit.cause)}`
          })
        }
        const frame = yield* options.nextFrame
        return { command: rpc._tag, id: item.incoming.id, frame, receivedAt: item.receivedAt }
      })

    // The actor: one command at a time, strictly in arrival order.
    const actor = Effect.forever(Effect.suspend((): Effect.Effect<void> => {
      if (items.length === 0) return closed ? Effect.interrupt : Waiters.wait(actorWaiters)
      const item = items.shift()!
      Waiters.wakeAll(submitWaiters)
      return apply(item).pipe(
        Effect.exit,
        Effect.onInterrupt(() => Effect.sync(() => item.reply(closedExit(closedError)))),
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) {
            applied++
            if (options.onApplied) return Effect.map(options.onApplied(exit.value), () => item.reply(exit))
          } else rejected++
          item.reply(exit)
          return Effect.void
        })
      )
    }))
    // Interruptible even when the session is started inside an uninterruptible region (acquireRelease, a layer).
    yield* Effect.forkScoped(Effect.interruptible(actor))
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        const pending = items.splice(0, items.length)
        for (const item of pending) item.reply(closedExit(closedError))
        Waiters.wakeAll(actorWaiters)
        Waiters.wakeAll(submitWaiters)
      })
    )

    const settle = (
      onSettled: ((exit: Exit.Exit<Ack, CommandError.CommandError>) => void) | undefined,
      exit: Exit.Exit<Ack, CommandError.CommandError>
    ) => {
      if (onSettled === undefined) return
      try {
        onSettled(exit)
      } catch {
        // The submitter's callback must not take the actor down.
      }
    }

    /** Queues the command once there is room, then waits for its reply. */
    const enqueue = (
      incoming: Incoming,
      receivedAt: number,
      onSettled: ((exit: Exit.Exit<Ack, CommandError.CommandError>) => void) | undefined
    ): Effect.Effect<Ack, CommandError.CommandError> =>
      Effect.suspend(() => {
        if (closed) {
          settle(onSettled, closedExit(closedError))
          return closedError
        }
        if (items.length >= capacity) return Effect.zipRight(Waiters.wait(submitWaiters), enqueue(incoming, receivedAt, onSettled))
        // A submitter interrupted while it waits leaves its command queued: it is still applied, in order.
        return Effect.async<Ack, CommandError.CommandError>((resume) => {
          let settled = false
          items.push({
            incoming,
            receivedAt,
            reply: (exit) => {
              if (settled) return
              settled = true
              settle(onSettled, exit)
              resume(exit)
            }
          })
          Waiters.wakeAll(actorWaiters)
        })
      })

    return {
      submit: (incoming, onSettled) => Effect.suspend(() => enqueue(incoming, clock.unsafeCurrentTimeMillis(), onSettled)),
      counts: Effect.sync(() => ({ applied, rejected }))
    }
  })
