/**
 * The command mailbox actor: one fiber drains a bounded queue, decoding each `{type, data}` against its command's
 * payload schema and applying the handlers strictly in arrival order. A bad command or a failing handler earns its
 * sender a specific error and never ends the session.
 */
import type * as Rpc from "@effect/rpc/Rpc"
import type * as RpcGroup from "@effect/rpc/RpcGroup"
import { Cause, Effect, Either, Exit, Option, Queue, Ref, Schema, type Scope, Tracer } from "effect"
import type * as Command from "../model/Command.js"
import { formatIssues } from "../model/Model.js"
import type * as AckSchema from "../protocol/Ack.js"
import * as CommandError from "../protocol/CommandError.js"
import type * as Metrics from "./Metrics.js"
import * as ModelErrors from "./ModelErrors.js"
import * as Tracing from "./Tracing.js"

/** A command as a client sent it, not yet validated. */
export interface Incoming {
  readonly type: unknown
  readonly data?: unknown
  /** An optional client-chosen id echoed in the ack. */
  readonly id?: string | number | undefined
}

/** A command that was applied. */
export type Ack = AckSchema.Ack

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
  /** Whether a failing handler's own error text reaches the client (`ModelErrors`). Default true. */
  readonly exposeModelErrors?: boolean
  /** Records each command applied (and how long after its arrival) or rejected (and its error code). */
  readonly recorder?: Metrics.Recorder
}

interface Item {
  readonly incoming: Incoming
  readonly receivedAt: number
  /** The submitter's span (tracing on): the command's spans in the actor are its children. */
  readonly span: Tracer.AnySpan | undefined
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
  if (rpc === undefined) {
    return Either.left(CommandError.UnknownCommand.of(incoming.type, [...commands.requests.keys()]))
  }
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

/** A handler's `Command.refuse` (checked by tag: a model bundled with its own copy of this library counts too). */
const isRefusal = (error: unknown): error is Command.Refusal =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "CommandRefusal"

/** Whether a command declares a reply (`Command.make(name, { success })`): its success schema is not `Void`. */
export const hasReply = (rpc: Rpc.AnyWithProps): boolean => rpc.successSchema.ast._tag !== "VoidKeyword"

/**
 * A handler's reply encoded with its command's success schema (the JSON that crosses the wire); none for a command
 * without one. A value that does not match the schema is the model's bug: the sender gets `handler_failed` saying so.
 */
const encodeResult = (
  rpc: Rpc.AnyWithProps,
  value: unknown
): Effect.Effect<{ readonly value: unknown } | undefined, CommandError.CommandError> => {
  if (!hasReply(rpc)) return Effect.succeed(undefined)
  return Schema.encodeUnknown(rpc.successSchema as Schema.Schema<unknown, unknown>)(value).pipe(
    Effect.map((encoded) => ({ value: encoded })),
    Effect.mapError((error) =>
      new CommandError.HandlerFailed({
        command: rpc._tag,
        message: `the handler's reply does not match its success schema: ${
          formatIssues(error).map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
            .join("; ")
        }`
      })
    )
  )
}

/**
 * Starts a mailbox whose actor fiber lives in the current scope: one fiber takes from a bounded `Queue` (a submit
 * suspends while it is full) and applies each command in turn. A command's reply is a callback the actor calls once
 * it is settled (no `Deferred` per command), so a transport can answer from the actor itself.
 */
export const make = (options: Options): Effect.Effect<Mailbox, never, Scope.Scope> =>
  Effect.gen(function*() {
    // Time comes from Effect's Clock (a TestClock in tests): when each command was received.
    const clock = yield* Effect.clock
    const queue = yield* Queue.bounded<Item>(Math.max(1, options.capacity ?? 256))
    const counts = yield* Ref.make({ applied: 0, rejected: 0 })
    const recorder = options.recorder
    // Spans only where they are exported: with tracing off, a command costs no span.
    const traced = yield* Tracing.enabled
    const spanned = (name: string, sampled: boolean) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      sampled ? Effect.withSpan(effect, name, { captureStackTrace: false }) : effect
    /** A command's name as a metric label: a declared one, else `unknown` (a client's names are not a bounded set). */
    const label = (type: unknown) => typeof type === "string" && options.commands.requests.has(type) ? type : "unknown"

    // A command is traced when its submitter's span is kept: an unsampled one (the session not sampled) makes no span.
    const apply = (item: Item, sampled: boolean): Effect.Effect<Ack, CommandError.CommandError> =>
      Effect.gen(function*() {
        const { payload, rpc } = yield* spanned("command.decode", sampled)(decode(options.commands, item.incoming))
        const handler =
          (options.handlers as Record<string, (payload: unknown) => Effect.Effect<unknown, unknown, any>>)[
            rpc._tag
          ]
        if (handler === undefined) {
          return yield* new CommandError.HandlerFailed({
            command: rpc._tag,
            message: "the model has no handler for it"
          })
        }
        const exit = yield* options.provide(Effect.suspend(() => handler(payload))).pipe(
          spanned("command.handler", sampled),
          Effect.exit
        )
        if (Exit.isFailure(exit)) {
          if (Cause.isInterruptedOnly(exit.cause)) return yield* closedError
          const refusal = Cause.failureOption(exit.cause)
          if (refusal._tag === "Some" && isRefusal(refusal.value)) {
            return yield* new CommandError.Refused({
              code: String(refusal.value.code),
              command: rpc._tag,
              message: String(refusal.value.message)
            })
          }
          yield* Effect.logWarning(`command "${rpc._tag}" failed`, exit.cause)
          return yield* new CommandError.HandlerFailed({
            command: rpc._tag,
            message: yield* ModelErrors.report(
              options.exposeModelErrors ?? true,
              `the handler of "${rpc._tag}" failed`,
              causeMessage(exit.cause)
            )
          })
        }
        const result = yield* encodeResult(rpc, exit.value)
        const frame = yield* options.nextFrame
        const ack: Ack = { command: rpc._tag, id: item.incoming.id, frame, receivedAt: item.receivedAt }
        return result === undefined ? ack : { ...ack, result: result.value }
      })

    // The actor: one command at a time, strictly in arrival order.
    const applyIn = (item: Item) =>
      item.span === undefined || !item.span.sampled ? apply(item, false) : apply(item, true).pipe(
        Effect.withSpan("command.apply", {
          parent: item.span,
          captureStackTrace: false,
          attributes: { "command.name": typeof item.incoming.type === "string" ? item.incoming.type : "" }
        })
      )
    const actor = Effect.forever(Effect.flatMap(Queue.take(queue), (item) =>
      applyIn(item).pipe(
        Effect.exit,
        Effect.onInterrupt(() => Effect.sync(() => item.reply(closedExit(closedError)))),
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) {
            recorder?.commandApplied(exit.value.command, clock.unsafeCurrentTimeMillis() - item.receivedAt)
            return Ref.update(counts, (c) => ({ ...c, applied: c.applied + 1 })).pipe(
              Effect.zipRight(options.onApplied ? options.onApplied(exit.value) : Effect.void),
              Effect.map(() => item.reply(exit))
            )
          }
          if (recorder !== undefined && exit.cause._tag === "Fail") {
            recorder.commandRejected(label(item.incoming.type), exit.cause.error.code)
          }
          return Effect.map(Ref.update(counts, (c) => ({ ...c, rejected: c.rejected + 1 })), () => item.reply(exit))
        })
      )))
    // Interruptible even when the session is started inside an uninterruptible region (acquireRelease, a layer).
    yield* Effect.forkScoped(Effect.interruptible(actor))
    // Closing: whatever still waits is answered SessionClosed; a submit after that is refused at once.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Queue.takeAll(queue), (pending) =>
        Effect.zipRight(
          Effect.sync(() => {
            for (const item of pending) item.reply(closedExit(closedError))
          }),
          Queue.shutdown(queue)
        ))
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

    /** Queues the command (suspending while the queue is full), then waits for its reply. */
    const enqueue = (
      incoming: Incoming,
      receivedAt: number,
      onSettled: ((exit: Exit.Exit<Ack, CommandError.CommandError>) => void) | undefined,
      span: Tracer.AnySpan | undefined
    ): Effect.Effect<Ack, CommandError.CommandError> =>
      Effect.suspend(() => {
        const refuse = () => {
          settle(onSettled, closedExit(closedError))
          return closedError
        }
        let settled = false
        let resume: ((exit: Exit.Exit<Ack, CommandError.CommandError>) => void) | undefined
        let early: Exit.Exit<Ack, CommandError.CommandError> | undefined
        const item: Item = {
          incoming,
          receivedAt,
          span,
          reply: (exit) => {
            if (settled) return
            settled = true
            settle(onSettled, exit)
            if (resume !== undefined) resume(exit)
            else early = exit
          }
        }
        // A submitter interrupted while it waits leaves its command queued: it is still applied, in order.
        // A shut-down queue (the session ended) interrupts the offer: refused at once.
        return Queue.offer(queue, item).pipe(
          Effect.catchAllCause(() => Effect.succeed(false)),
          Effect.flatMap((offered) =>
            offered
              ? Effect.async<Ack, CommandError.CommandError>((callback) => {
                if (early !== undefined) return callback(early)
                resume = callback
              })
              : refuse()
          )
        )
      })

    return {
      submit: (incoming, onSettled) =>
        traced
          ? Effect.flatMap(
            Effect.serviceOption(Tracer.ParentSpan),
            (span) => enqueue(incoming, clock.unsafeCurrentTimeMillis(), onSettled, Option.getOrUndefined(span))
          )
          : Effect.suspend(() => enqueue(incoming, clock.unsafeCurrentTimeMillis(), onSettled, undefined)),
      counts: Ref.get(counts)
    }
  })
