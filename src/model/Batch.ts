/**
 * Dynamic batching across sessions, as serving stacks do it (Triton's dynamic batcher, Ray Serve's `@serve.batch`):
 * the sessions of one model host submit single inputs, and one fiber runs them together, up to `maxBatch` inputs per
 * call of `run`, waiting at most `maxWaitMs` for more once a first one is there (0: no wait, take what is queued;
 * while a batch runs the next one gathers, so batches grow by themselves under load). Each caller gets its own output.
 * A caller that is interrupted (its session stopped) leaves: its input is not run if it is still waiting, and its
 * output is dropped if its batch is already running. A failing batch fails only the requests in it. Make it in a
 * model's `load`, so it lives as long as the weights and every session shares it.
 */
import { Cause, Clock, Deferred, Effect, Exit, Option, Queue, type Scope } from "effect"

/** What `make` needs: the batch limits and the batched call. */
export interface Options<I, O, E, R> {
  /** The most inputs in one call of `run` (at least 1). */
  readonly maxBatch: number
  /** How long a batch that is not full waits for more inputs after its first one, in ms. Default 0. */
  readonly maxWaitMs?: number
  /** Runs a batch: one output per input, in the same order. */
  readonly run: (inputs: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>
}

/** Counts since the batcher started. */
export interface Stats {
  /** Calls of `run`. */
  readonly batches: number
  /** Inputs run (requests whose caller left before their batch started are not). */
  readonly inputs: number
  /** Requests dropped because their caller left while they waited. */
  readonly abandoned: number
  /** The largest batch run. */
  readonly largest: number
}

/** A running batcher. */
export interface Batcher<I, O, E> {
  /** Submits one input and waits for its output (or its batch's failure). */
  readonly submit: (input: I) => Effect.Effect<O, E>
  readonly stats: Effect.Effect<Stats>
}

interface Request<I, O, E> {
  readonly input: I
  readonly deferred: Deferred.Deferred<O, E>
}

/** An error for a `run` that returned a different number of outputs than it got inputs: a bug in the model. */
export class BatchSizeMismatch extends Error {
  constructor(readonly inputs: number, readonly outputs: number) {
    super(`a batch of ${inputs} inputs returned ${outputs} outputs; run must return one output per input`)
  }
}

/** Starts a batcher; it stops (and interrupts the requests still waiting) when the scope closes. */
export const make = <I, O, E = never, R = never>(
  options: Options<I, O, E, R>
): Effect.Effect<Batcher<I, O, E>, never, Scope.Scope | R> =>
  Effect.gen(function*() {
    const maxBatch = Math.max(1, Math.floor(options.maxBatch))
    const maxWaitMs = Math.max(0, options.maxWaitMs ?? 0)
    const queue = yield* Queue.unbounded<Request<I, O, E>>()
    let inFlight: ReadonlyArray<Request<I, O, E>> = []
    const stats = { batches: 0, inputs: 0, abandoned: 0, largest: 0 }

    // At shutdown: the requests still queued or in the running batch end as interrupted, the queue refuses more.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const queued = yield* Queue.takeAll(queue)
        yield* Effect.forEach([...inFlight, ...queued], (request) => Deferred.interrupt(request.deferred), {
          discard: true
        })
        yield* Queue.shutdown(queue)
      })
    )

    /** One batch: the first request (waited for), what is queued, and what arrives within `maxWaitMs`. */
    const gather = Effect.gen(function*() {
      const batch = [yield* Queue.take(queue)]
      batch.push(...(yield* Queue.takeUpTo(queue, maxBatch - batch.length)))
      if (maxWaitMs > 0) {
        const deadline = (yield* Clock.currentTimeMillis) + maxWaitMs
        while (batch.length < maxBatch) {
          const remaining = deadline - (yield* Clock.currentTimeMillis)
          if (remaining <= 0) break
          const next = yield* Effect.timeoutOption(Queue.take(queue), remaining)
          if (Option.isNone(next)) break
          batch.push(next.value, ...(yield* Queue.takeUpTo(queue, maxBatch - batch.length - 1)))
        }
      }
      // A caller that left while waiting has interrupted its own deferred: its input is not run.
      const live: Array<Request<I, O, E>> = []
      for (const request of batch) {
        if (yield* Deferred.isDone(request.deferred)) stats.abandoned++
        else live.push(request)
      }
      return live
    })

    const runBatch = (batch: ReadonlyArray<Request<I, O, E>>) =>
      Effect.gen(function*() {
        inFlight = batch
        stats.batches++
        stats.inputs += batch.length
        stats.largest = Math.max(stats.largest, batch.length)
        const exit = yield* Effect.exit(options.run(batch.map((request) => request.input)))
        yield* Effect.forEach(batch, (request, i) => {
          if (Exit.isFailure(exit)) return Deferred.failCause(request.deferred, exit.cause)
          const outputs = exit.value
          return outputs.length === batch.length
            ? Deferred.succeed(request.deferred, outputs[i]!)
            : Deferred.failCause(request.deferred, Cause.die(new BatchSizeMismatch(batch.length, outputs.length)))
        }, { discard: true })
        inFlight = []
      })

    yield* gather.pipe(
      Effect.flatMap((batch) => (batch.length === 0 ? Effect.void : runBatch(batch))),
      Effect.forever,
      Effect.forkScoped
    )

    return {
      submit: (input: I) =>
        Effect.flatMap(Deferred.make<O, E>(), (deferred) =>
          Queue.offer(queue, { input, deferred }).pipe(
            Effect.zipRight(Deferred.await(deferred)),
            Effect.onInterrupt(() => Deferred.interrupt(deferred))
          )),
      stats: Effect.sync(() => ({ ...stats }))
    }
  })
