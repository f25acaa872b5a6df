/**
 * A session's input tracks: per declared track, the newest frame (read by `latest`) and a `PubSub.sliding` that each
 * reader of `frames` subscribes to, so a reader that falls behind loses
 * the oldest frames, never the newest, and holds at most `capacity` of them. `push` checks every frame first
 * (`Input.check`): nothing unchecked reaches a model. A reader's wait for the next frame runs inside `awaiting` (the
 * session's pacer leaves it out of the model's generation rate).
 */
import { Cause, Clock, Effect, Option, PubSub, Queue, Stream } from "effect"
import * as Input from "../model/Input.js"
import type * as Metrics from "./Metrics.js"

/** Frames a reader of `frames` may fall behind by before the oldest is dropped. */
export const defaultCapacity = 2

/** The input side of a session. */
export interface InputTracks {
  /** Checks a frame and makes it the track's newest; refuses it with the specific error. */
  readonly push: (track: string, frame: Input.Incoming) => Effect.Effect<void, Input.InputError>
  /** The model's view of a declared track; `undefined` for an undeclared name. */
  readonly track: (name: string) => Input.Track | undefined
  /** Frames dropped across all tracks (readers behind, and `countDropped`). */
  readonly dropped: Effect.Effect<number>
  /** Counts frames dropped before they got here (on the way to a model host). */
  readonly countDropped: (track: string, n: number) => void
  /** Ends every reader's stream; later pushes are refused with `session_closed`. */
  readonly shutdown: Effect.Effect<void>
}

interface State {
  readonly name: string
  readonly spec: Input.Video
  readonly pubsub: PubSub.PubSub<Input.InputFrame>
  latest: Input.InputFrame | undefined
  next: number
  dropped: number
}

/** Wraps a reader's wait for a frame (nothing held for it yet). */
export type Awaiting = <A, E, R>(wait: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** Builds the input tracks of a session of a model with these inputs. */
export const make = (
  inputs: Input.Inputs,
  capacity = defaultCapacity,
  recorder?: Metrics.Recorder,
  awaiting: Awaiting = (wait) => wait
): Effect.Effect<InputTracks> =>
  Effect.gen(function*() {
    const states = new Map<string, State>()
    for (const [name, spec] of Object.entries(inputs)) {
      states.set(name, {
        name,
        spec,
        pubsub: yield* PubSub.sliding<Input.InputFrame>(capacity),
        latest: undefined,
        next: 0,
        dropped: 0
      })
    }
    let closed = false

    const views = new Map<string, Input.Track>()
    for (const state of states.values()) {
      // A reader subscribes first, then gets the held frame, then what follows, skipping what it already had.
      const frames = Stream.unwrapScoped(Effect.gen(function*() {
        const queue = yield* PubSub.subscribe(state.pubsub)
        const held = state.latest
        let seen = state.next - 1
        // What is held now, or else the wait for the next frame (inside `awaiting`); the stream ends at shutdown.
        const pull = Effect.flatMap(
          Queue.size(queue),
          (held) => held > 0 ? Queue.takeAll(queue) : awaiting(Queue.takeBetween(queue, 1, capacity))
        ).pipe(
          Effect.catchAllCause((cause) =>
            Effect.flatMap(
              Queue.isShutdown(queue),
              (down) => down && Cause.isInterrupted(cause) ? Effect.fail(Option.none()) : Effect.failCause(cause)
            )
          )
        )
        const rest = Stream.repeatEffectChunkOption(pull).pipe(
          Stream.filter((frame) => {
            if (frame.index <= seen) return false
            // A gap is what slid out of this reader's buffer while it was behind.
            if (frame.index - seen > 1) recorder?.inputDropped(frame.index - seen - 1)
            state.dropped += frame.index - seen - 1
            seen = frame.index
            return true
          })
        )
        return held === undefined ? rest : Stream.concat(Stream.make(held), rest)
      }))
      views.set(state.name, {
        name: state.name,
        spec: state.spec,
        latest: Effect.sync(() => Option.fromNullable(state.latest)),
        frames,
        dropped: Effect.sync(() => state.dropped)
      })
    }

    return {
      push: (track, frame) =>
        Effect.suspend(() => {
          const error = Input.check(inputs, track, frame)
          if (error !== undefined) return Effect.fail(error)
          if (closed) {
            return Effect.fail(
              new Input.InputError({
                code: "session_closed",
                track,
                message: "the session has ended; the frame was not used"
              })
            )
          }
          const state = states.get(track)!
          recorder?.inputReceived()
          return Effect.flatMap(Clock.currentTimeMillis, (receivedAt) => {
            const out: Input.InputFrame = {
              track,
              index: state.next++,
              width: frame.width,
              height: frame.height,
              data: frame.data,
              receivedAt,
              capturedAt: frame.capturedAt
            }
            state.latest = out
            return Effect.asVoid(PubSub.publish(state.pubsub, out))
          })
        }),
      track: (name) => (Object.hasOwn(inputs, name) ? views.get(name) : undefined),
      dropped: Effect.sync(() => [...states.values()].reduce((n, state) => n + state.dropped, 0)),
      countDropped: (track, n) => {
        const state = states.get(track)
        if (state !== undefined) state.dropped += n
        if (n > 0) recorder?.inputDropped(n)
      },
      shutdown: Effect.suspend(() => {
        closed = true
        return Effect.forEach(states.values(), (state) => PubSub.shutdown(state.pubsub), { discard: true })
      })
    } satisfies InputTracks
  })
