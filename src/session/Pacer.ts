/**
 * The emitter: releases each block's frames evenly spaced at the model's measured generation rate, so a block of 8
 * produced in 200 ms plays as 8 frames 25 ms apart rather than a burst. At most `queueBlocks` blocks wait; a faster
 * generator is suspended in `push`, which paces it. When the model stops emitting, nothing is released and consumers
 * keep the last frame.
 */
import { Effect, Queue, type Scope } from "effect"
import type { Frame } from "../model/Frame.js"
import type { Extra, OutFrame } from "./FrameBus.js"
import type * as Metrics from "./Metrics.js"

/** What rides along with a block's frames: per-frame metadata and other tracks' frames (each array one per frame). */
export interface Side {
  readonly metadata?: ReadonlyArray<unknown>
  readonly extras?: ReadonlyArray<ReadonlyArray<Extra>>
}

/** Options of a pacer. */
export interface Options {
  /** Called for every frame at its release time. */
  readonly publish: (frame: OutFrame) => Effect.Effect<void>
  /** Blocks waiting at most before `push` suspends the generator. Default 2. */
  readonly queueBlocks?: number
  /** A cap on the release rate (frames per second); none by default. */
  readonly maxFps?: number
  /** The longest gap between two frames of one block, whatever the measurement says. Default 1000 ms. */
  readonly maxIntervalMs?: number
  /** Records frames generated (and the model's step time) and released (and how late). */
  readonly recorder?: Metrics.Recorder
}

/** The pacer of one session. */
export interface Pacer {
  /** Queues a block; returns the index of its first frame. Suspends while the queue is full. */
  readonly push: (block: ReadonlyArray<Frame>, side?: Side) => Effect.Effect<number>
  /** Index the next pushed frame will get. */
  readonly nextIndex: Effect.Effect<number>
  /** Stops counting time toward the generation rate (an intentional pause). */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  /**
   * Runs `effect` (the model waiting for its next input frame) without counting its time toward the generation rate:
   * a model driven by a camera generates for the time it computes, not for the camera's (or a closed loop's) interval.
   */
  readonly awaitingInput: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Frames released per second over the last second. */
  readonly fps: Effect.Effect<number>
  /** Frames released so far. */
  readonly emitted: Effect.Effect<number>
  /** Waits until every frame pushed so far has been released (a loop that returned leaves none behind). */
  readonly drained: Effect.Effect<void>
  /** The current per-frame interval estimate in ms (undefined before the first block). */
  readonly intervalMs: Effect.Effect<number | undefined>
  /** Drops every frame not released yet (the blocks waiting and the rest of the current one); returns how many. */
  readonly flush: Effect.Effect<number>
}

interface Block {
  readonly frames: ReadonlyArray<Frame>
  readonly side: Side | undefined
  readonly firstIndex: number
  readonly generatedAt: number
  readonly intervalMs: number
}

const smoothing = 0.3
/** While catching up after a stall, frames are at least this fraction of an interval apart (no bursts). */
export const catchUp = 0.75

/** Resumes on the next event-loop turn, after pending I/O (`setImmediate`). */
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Tokens of event-loop turns, one pacer's: `current()` is a fresh object per turn (dropped by one `setImmediate` per
 * turn in which the pacer released a frame), so "released in this same turn" is an identity check.
 */
const makeTurns = () => {
  let token: object | undefined
  return {
    current: (): object => {
      if (token === undefined) {
        const fresh = {}
        token = fresh
        setImmediate(() => {
          if (token === fresh) token = undefined
        })
      }
      return token
    }
  }
}

/**
 * Starts a pacer whose release fiber lives in the current scope. The blocks waiting between the generator and the
 * release fiber wait in a bounded `Queue`: a push into a full queue suspends the generator (the pacer's back-pressure),
 * and the release fiber takes the next block when it has released the current one.
 */
export const make = (options: Options): Effect.Effect<Pacer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const turns = makeTurns()
    // Open while every pushed frame has been released.
    const idle = yield* Effect.makeLatch(true)
    const capacity = Math.max(1, options.queueBlocks ?? 2)
    const blocks = yield* Queue.bounded<Block>(capacity)
    const minInterval = options.maxFps !== undefined && options.maxFps > 0 ? 1000 / options.maxFps : 0
    const maxInterval = options.maxIntervalMs ?? 1000
    const recorder = options.recorder
    let lastPushAt = clock.unsafeCurrentTimeMillis()
    // Time not generating: while the model paused the measurement, or waits for an input frame (either, or both).
    let pausedAt: number | undefined
    let pausedMs = 0
    let modelPaused = false
    let waitingForInput = 0
    /** Applies a change of the two reasons, opening or closing a span of time not generating. */
    const notGenerating = (change: () => void) => {
      const before = modelPaused || waitingForInput > 0
      change()
      const after = modelPaused || waitingForInput > 0
      if (!before && after) pausedAt = clock.unsafeCurrentTimeMillis()
      if (before && !after && pausedAt !== undefined) {
        pausedMs += clock.unsafeCurrentTimeMillis() - pausedAt
        pausedAt = undefined
      }
    }
    let estimate: number | undefined
    let measured = 0
    let nextIndex = 0
    let emitted = 0
    // frames a flush dropped: with the ones emitted, they make up every frame pushed
    let flushed = 0
    // blocks whose frames come before this index were flushed (one pushed while the flush ran, too)
    let cutoff = 0
    const recent: Array<number> = []

    // Generation time is measured from the end of the previous `push` (time suspended in a full queue is the pacer's
    // own back-pressure, not generation: counting it would lock the rate at whatever it started with). Nor is time
    // waiting for an input frame: in a closed loop (a viewer sends its next camera frame once it has the last output)
    // that wait includes the pacer's own hold of the last frame, and counting it held every frame after a slow one
    // for most of an interval, frame after frame (bench 14a at load ~12: a median hold of 17.6 ms per frame). The first
    // block's time includes the session's set-up, so it only paces that block and does not seed the average.
    const measure = (now: number, frames: number) => {
      const paused = pausedMs + (pausedAt !== undefined ? now - pausedAt : 0)
      const perFrame = Math.max(0, now - lastPushAt - paused) / frames
      pausedMs = 0
      if (pausedAt !== undefined) pausedAt = now
      measured++
      recorder?.framesGenerated(frames, perFrame)
      estimate = estimate === undefined || measured <= 2 ? perFrame : estimate + smoothing * (perFrame - estimate)
      return Math.min(maxInterval, Math.max(minInterval, estimate))
    }

    // The release actor's state: the block being released and the next frame in it.
    let block: Block | undefined
    let i = 0
    let gap = 0
    let lastAt = Number.NEGATIVE_INFINITY
    let lastTurn: object | undefined
    let dueAt = 0

    /** Releases the current frame now. */
    const releaseNow: Effect.Effect<void> = Effect.suspend(() => {
      const current = block!
      // a flush while this frame was waiting for its time dropped it
      if (current === undefined || i >= current.frames.length) return Effect.void
      const at = clock.unsafeCurrentTimeMillis()
      const side = current.side
      const out: OutFrame = side === undefined
        ? {
          index: current.firstIndex + i,
          frame: current.frames[i]!,
          generatedAt: current.generatedAt,
          emittedAt: at
        }
        : {
          index: current.firstIndex + i,
          frame: current.frames[i]!,
          generatedAt: current.generatedAt,
          emittedAt: at,
          ...(side.metadata !== undefined ? { metadata: side.metadata[i] } : {}),
          ...(side.extras !== undefined && side.extras[i]!.length > 0 ? { extras: side.extras[i] } : {})
        }
      i++
      emitted++
      if (emitted + flushed === nextIndex) idle.unsafeOpen()
      recent.push(at)
      // Trim only what is older than the 1 s window `fps` counts over (a count-based trim undercounts above 512 fps).
      if (recent.length > 512 && recent[255]! <= at - 1000) recent.splice(0, 256)
      lastAt = at
      recorder?.frameEmitted(at - dueAt)
      return Effect.map(options.publish(out), () => {
        lastTurn = turns.current()
      })
    })

    /** One frame: wait for a block if none is being released, wait until the frame is due, release it. */
    const releaseOne: Effect.Effect<void> = Effect.suspend((): Effect.Effect<void> => {
      if (block === undefined || i >= block.frames.length) {
        block = undefined
        return Effect.flatMap(Queue.take(blocks), (next) => {
          if (next.firstIndex < cutoff) {
            flushed += next.frames.length
            if (emitted + flushed === nextIndex) idle.unsafeOpen()
            return releaseOne
          }
          block = next
          i = 0
          gap = Math.max(minInterval, next.intervalMs * catchUp)
          return releaseOne
        })
      }
      // Each frame is due at its block's emit time plus its place in the block: no lag builds up behind the model
      // (a schedule of its own drifts whenever the estimate is off). After a stall, frames catch up, never closer
      // together than `catchUp` of an interval.
      const due = Math.max(block.generatedAt + i * block.intervalMs, lastAt + gap)
      dueAt = due
      const wait = due - clock.unsafeCurrentTimeMillis()
      // Timers have 1 ms granularity: sleeping for less would cost a whole millisecond per frame (a cap of
      // ~1000 fps for a fast model); such a frame goes now.
      // A frame due now in the same event-loop turn as the previous one waits for the next turn: a model that
      // never sleeps would otherwise keep the whole loop (model, pacer, transport) in microtasks and starve socket
      // I/O and incoming commands. A model that sleeps wakes in a new turn and pays nothing.
      if (wait >= 1) return Effect.zipRight(Effect.sleep(wait), releaseNow)
      if (turns.current() === lastTurn) return Effect.zipRight(nextTurn, releaseNow)
      return releaseNow
    })

    // Interruptible even when the session is started inside an uninterruptible region (acquireRelease, a layer).
    yield* Effect.forkScoped(Effect.interruptible(Effect.forever(releaseOne)))
    // Closing: blocks still waiting are dropped, and a push after that is interrupted (the session is ending).
    yield* Effect.addFinalizer(() => Queue.shutdown(blocks))

    const push = (frames: ReadonlyArray<Frame>, side?: Side): Effect.Effect<number> =>
      Effect.suspend(() => {
        const now = clock.unsafeCurrentTimeMillis()
        const intervalMs = measure(now, frames.length)
        const firstIndex = nextIndex
        nextIndex += frames.length
        idle.unsafeClose()
        // Full: the generator waits in the offer until the release fiber takes a block. A shut-down queue (the
        // session ending) interrupts it.
        return Effect.map(Queue.offer(blocks, { frames, side, firstIndex, generatedAt: now, intervalMs }), () => {
          const returnedAt = clock.unsafeCurrentTimeMillis()
          if (pausedAt !== undefined) pausedAt = Math.max(pausedAt, returnedAt)
          lastPushAt = returnedAt
          return firstIndex
        })
      })

    return {
      push,
      nextIndex: Effect.sync(() => nextIndex),
      pause: Effect.sync(() =>
        notGenerating(() => {
          modelPaused = true
        })
      ),
      resume: Effect.sync(() =>
        notGenerating(() => {
          modelPaused = false
        })
      ),
      awaitingInput: (effect) =>
        Effect.acquireUseRelease(
          Effect.sync(() => notGenerating(() => waitingForInput++)),
          () => effect,
          () => Effect.sync(() => notGenerating(() => waitingForInput--))
        ),
      fps: Effect.sync(() => {
        const now = clock.unsafeCurrentTimeMillis()
        let count = 0
        for (let i = recent.length - 1; i >= 0 && recent[i]! > now - 1000; i--) count++
        return count
      }),
      emitted: Effect.sync(() => emitted),
      intervalMs: Effect.sync(() => estimate),
      flush: Effect.map(Queue.takeAll(blocks), (waiting) => {
        cutoff = nextIndex
        let dropped = 0
        for (const each of waiting) dropped += each.frames.length
        if (block !== undefined) {
          dropped += block.frames.length - i
          i = block.frames.length
        }
        flushed += dropped
        if (emitted + flushed === nextIndex) idle.unsafeOpen()
        return dropped
      }),
      drained: idle.await
    }
  })
