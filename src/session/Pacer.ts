/**
 * The emitter: releases each block's frames evenly spaced at the model's measured generation rate, so a block of 8
 * produced in 200 ms plays as 8 frames 25 ms apart rather than a burst. At most `queueBlocks` blocks wait; a faster
 * generator is suspended in `push`, which paces it. When the model stops emitting, nothing is released and consumers
 * keep the last frame.
 */
import { Clock, Effect, Queue, type Scope } from "effect"
import type { Frame } from "../model/Frame.js"
import type { OutFrame } from "./FrameBus.js"

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
}

/** The pacer of one session. */
export interface Pacer {
  /** Queues a block; returns the index of its first frame. Suspends while the queue is full. */
  readonly push: (block: ReadonlyArray<Frame>) => Effect.Effect<number>
  /** Index the next pushed frame will get. */
  readonly nextIndex: Effect.Effect<number>
  /** Stops counting time toward the generation rate (an intentional pause). */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  /** Frames released per second over the last second. */
  readonly fps: Effect.Effect<number>
  /** Frames released so far. */
  readonly emitted: Effect.Effect<number>
  /** The current per-frame interval estimate in ms (undefined before the first block). */
  readonly intervalMs: Effect.Effect<number | undefined>
}

interface Block {
  readonly frames: ReadonlyArray<Frame>
  readonly firstIndex: number
  readonly generatedAt: number
  readonly intervalMs: number
}

const smoothing = 0.3

/** Starts a pacer whose release fiber lives in the current scope. */
export const make = (options: Options): Effect.Effect<Pacer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<Block>(options.queueBlocks ?? 2)
    const minInterval = options.maxFps !== undefined && options.maxFps > 0 ? 1000 / options.maxFps : 0
    const maxInterval = options.maxIntervalMs ?? 1000
    let lastPushAt = yield* Clock.currentTimeMillis
    let pausedAt: number | undefined
    let pausedMs = 0
    let estimate: number | undefined
    let nextIndex = 0
    let emitted = 0
    const recent: Array<number> = []

    const measure = (now: number, frames: number) => {
      const paused = pausedMs + (pausedAt !== undefined ? now - pausedAt : 0)
      const perFrame = Math.max(0, now - lastPushAt - paused) / frames
      lastPushAt = now
      pausedMs = 0
      if (pausedAt !== undefined) pausedAt = now
      estimate = estimate === undefined ? perFrame : estimate + smoothing * (perFrame - estimate)
      return Math.min(maxInterval, Math.max(minInterval, estimate))
    }

    const release = Effect.gen(function*() {
      let nextAt = 0
      while (true) {
        const block = yield* Queue.take(queue)
        for (let i = 0; i < block.frames.length; i++) {
          const now = yield* Clock.currentTimeMillis
          if (nextAt > now) yield* Effect.sleep(nextAt - now)
          const at = yield* Clock.currentTimeMillis
          // Keep the schedule through small timer lateness; restart it after a real stall.
          const base = nextAt === 0 || at - nextAt > block.intervalMs ? at : nextAt
          yield* options.publish({
            index: block.firstIndex + i,
            frame: block.frames[i]!,
            generatedAt: block.generatedAt,
            emittedAt: at
          })
          emitted++
          recent.push(at)
          if (recent.length > 512) recent.splice(0, 256)
          nextAt = base + block.intervalMs
        }
      }
    })
    // Interruptible even when the session is started inside an uninterruptible region (acquireRelease, a layer).
    yield* Effect.forkScoped(Effect.interruptible(release))
    yield* Effect.addFinalizer(() => Queue.shutdown(queue))

    return {
      push: (frames) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const intervalMs = measure(now, frames.length)
          const firstIndex = nextIndex
          nextIndex += frames.length
          yield* Queue.offer(queue, { frames, firstIndex, generatedAt: now, intervalMs })
          return firstIndex
        }),
      nextIndex: Effect.sync(() => nextIndex),
      pause: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (pausedAt === undefined) pausedAt = now
        })),
      resume: Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (pausedAt !== undefined) {
            pausedMs += now - pausedAt
            pausedAt = undefined
          }
        })),
      fps: Effect.map(Clock.currentTimeMillis, (now) => {
        let count = 0
        for (let i = recent.length - 1; i >= 0 && recent[i]! > now - 1000; i--) count++
        return count
      }),
      emitted: Effect.sync(() => emitted),
      intervalMs: Effect.sync(() => estimate)
    }
  })
