/**
 * A session's audio output: each declared audio track plays its chunks back to back in real time. A chunk is due when
 * the one before it has played (or now, after a gap); a release fiber per track hands it to the consumers at that
 * time, so every transport sends audio as it is to be heard. A model that runs ahead is suspended in `push` while
 * its track is more than `aheadMs` ahead: the track's own clock paces it, as the frame pacer paces video.
 */
import { Clock, Effect, PubSub, Queue, type Scope } from "effect"
import * as Output from "../model/Output.js"

/** How far ahead of real time a model may emit audio before `push` suspends it. */
export const defaultAheadMs = 500

/** The audio side of a session. */
export interface AudioOut {
  /** Checks a chunk, copies it, and queues it to play after the track's previous one. */
  readonly push: (track: string, samples: Int16Array) => Effect.Effect<void, Output.AudioError>
  /** Subscribes to the released chunks of every track (a sliding buffer: a slow reader loses the oldest). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Output.OutAudio>, never, Scope.Scope>
  /** Chunks released so far, per track. */
  readonly released: Effect.Effect<Readonly<Record<string, number>>>
  /** Ends every subscription. */
  readonly shutdown: Effect.Effect<void>
}

interface State {
  readonly spec: Output.Audio
  readonly queue: Queue.Queue<Output.OutAudio>
  next: number
  nextDue: number
  released: number
}

/**
 * Builds the audio output of a session of a model with these outputs; its release fibers live in the current scope.
 * `sink`, when given, also gets every released chunk and is waited for (a model host's port to the server).
 */
export const make = (
  outputs: Output.Outputs,
  options: {
    readonly sink?: ((chunk: Output.OutAudio) => Effect.Effect<void>) | undefined
    readonly aheadMs?: number
  } = {}
): Effect.Effect<AudioOut, never, Scope.Scope> =>
  Effect.gen(function*() {
    const aheadMs = options.aheadMs ?? defaultAheadMs
    const outbox = yield* PubSub.sliding<Output.OutAudio>(256)
    const states = new Map<string, State>()
    for (const [name, spec] of Object.entries(outputs)) {
      if (spec.kind !== "audio") continue
      const state: State = { spec, queue: yield* Queue.unbounded<Output.OutAudio>(), next: 0, nextDue: 0, released: 0 }
      states.set(name, state)
      const release = Effect.flatMap(Queue.take(state.queue), (chunk) =>
        Effect.gen(function*() {
          const wait = chunk.emittedAt - (yield* Clock.currentTimeMillis)
          if (wait >= 1) yield* Effect.sleep(wait)
          state.released++
          yield* PubSub.publish(outbox, chunk)
          if (options.sink !== undefined) yield* options.sink(chunk)
        }))
      yield* Effect.forkScoped(Effect.interruptible(Effect.forever(release)))
      yield* Effect.addFinalizer(() => Queue.shutdown(state.queue))
    }
    return {
      push: (track, samples) =>
        Effect.suspend(() => {
          const state = states.get(track)
          if (state === undefined) {
            const known = [...states.keys()]
            return Effect.dieMessage(
              `ctx.emitAudio("${track}"): the model declares no such audio track` +
                (known.length === 0
                  ? " (it declares none: add Output.audio to outputs)"
                  : `; it declares ${known.join(", ")}`)
            )
          }
          const error = Output.checkChunk(track, state.spec, samples)
          if (error !== undefined) return Effect.fail(new Output.AudioError({ message: error }))
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const durationMs = (samples.length / state.spec.channels / state.spec.sampleRate) * 1000
            if (state.nextDue < now) state.nextDue = now
            const due = state.nextDue
            state.nextDue += durationMs
            const chunk: Output.OutAudio = {
              track,
              index: state.next++,
              sampleRate: state.spec.sampleRate,
              channels: state.spec.channels,
              samples: samples.slice(),
              generatedAt: now,
              emittedAt: due
            }
            const wait = due - now - aheadMs
            const queued = Queue.offer(state.queue, chunk)
            return Effect.asVoid(wait >= 1 ? Effect.zipRight(Effect.sleep(wait), queued) : queued)
          })
        }),
      subscribe: PubSub.subscribe(outbox),
      released: Effect.sync(() => Object.fromEntries([...states].map(([name, state]) => [name, state.released]))),
      shutdown: PubSub.shutdown(outbox)
    } satisfies AudioOut
  })
