/**
 * Forking with a log line: a fiber of a connection or of the registry that dies or fails logs why, with its cause,
 * instead of vanishing (a dead inbox fiber used to leave its socket silent with nothing in the log).
 */
import { Cause, Effect, type Scope } from "effect"

/** Logs a failure or defect of `self` with its cause (interruption is the normal end and is not logged). */
export const logged = (what: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapErrorCause(
    self,
    (cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(`${what} failed`, cause)
  )

/** `Effect.forkScoped`, logging how the fiber failed. */
export const forkScoped = <A, E, R>(what: string, self: Effect.Effect<A, E, R>) => Effect.forkScoped(logged(what)(self))

/** `Effect.forkIn`, logging how the fiber failed. */
export const forkIn = (scope: Scope.Scope, what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.forkIn(logged(what)(self), scope)

/** Logs how `self` failed (as `logged`), then ends quietly: for the root effect of a fiber nobody joins. */
export const settled = (what: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  Effect.catchAllCause(logged(what)(Effect.asVoid(self)), () => Effect.void)
