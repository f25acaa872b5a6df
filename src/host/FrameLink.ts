/**
 * A session's frames from a model host to the server: a `MessagePort` of its own, handed to the worker in the
 * `Start` call (a transferable), carrying one message per frame with the pixels' buffer transferred, never copied.
 * Flow control is a window of credits: the worker sends at most `window` frames ahead of what the server has taken,
 * and a sender with no credit waits, which back-pressures the session's pacer (and the model) instead of dropping.
 *
 * Why not a stream RPC: `@effect/rpc` acknowledges every chunk before it sends the next, so frames move one round
 * trip of the RPC machinery at a time (measured here: ~1,000 chunks/s of ~3 frames under load, against ~12,000
 * round trips/s of bare `postMessage`). The port keeps the boundary's control calls typed on `@effect/rpc` and moves
 * pixels at the speed of `postMessage` itself.
 */
import { Duration, Effect, Exit, Fiber } from "effect"
import type { MessagePort } from "node:worker_threads"
import * as Frame from "../model/Frame.js"
import type * as FrameBus from "../session/FrameBus.js"
import * as Pacer from "../session/Pacer.js"

/** Frames the worker may send ahead of the server. */
export const window = 16

/** Frames at least this large move without a copy; smaller ones (and views into a larger buffer) are copied. */
export const transferMinBytes = Frame.handOverMinBytes

interface Wire {
  readonly index: number
  readonly width: number
  readonly height: number
  readonly generatedAt: number
  readonly emittedAt: number
  readonly data: Uint8Array
  readonly metadata?: unknown
  /** Other video tracks' frames (copied, never moved: one frame may ride along with every frame of a block). */
  readonly extras?: ReadonlyArray<
    { readonly track: string; readonly width: number; readonly height: number; readonly data: Uint8Array }
  >
}

/** The worker's end: `send` posts a frame, waiting while the window is full; `close` ends the link. */
export const sender = (port: MessagePort) => {
  let credit = window
  let waiting: (() => void) | undefined
  let closed = false
  port.on("message", (granted: number) => {
    credit += granted
    const wake = waiting
    waiting = undefined
    wake?.()
  })
  port.on("close", () => {
    closed = true
    const wake = waiting
    waiting = undefined
    wake?.()
  })
  /** Posts a frame; a buffer the model gave away after emitting it cannot move: that frame is skipped, and logged. */
  const post = (out: FrameBus.OutFrame): Effect.Effect<void> => {
    const { data, height, width } = out.frame
    const wire: Wire = {
      index: out.index,
      width,
      height,
      generatedAt: out.generatedAt,
      emittedAt: out.emittedAt,
      data,
      ...(out.metadata !== undefined ? { metadata: out.metadata } : {}),
      ...(out.extras !== undefined
        ? {
          extras: out.extras.map((extra) => ({
            track: extra.track,
            width: extra.frame.width,
            height: extra.frame.height,
            data: extra.frame.data
          }))
        }
        : {})
    }
    try {
      port.postMessage(wire, Frame.handsOver(data) ? [data.buffer as ArrayBuffer] : [])
      credit--
      return Effect.void
    } catch (error) {
      return Effect.logWarning(
        `frame ${out.index} could not be sent to the server and was skipped: ${
          error instanceof Error ? error.message : String(error)
        }`
      )
    }
  }
  const send = (out: FrameBus.OutFrame): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (closed) return Effect.void
      if (credit > 0) return post(out)
      return Effect.zipRight(
        Effect.async<void>((resume) => {
          waiting = () => resume(Effect.void)
          return Effect.sync(() => {
            waiting = undefined
          })
        }),
        send(out)
      )
    })
  return {
    send,
    close: Effect.sync(() => {
      closed = true
      port.close()
    })
  }
}

/**
 * A receiver's credit: `took()` counts one message taken; the count is granted back to the sender once per turn of
 * the event loop (one message for however many arrived).
 */
export const granter = (port: MessagePort) => {
  let taken = 0
  const grant = () => {
    const granted = taken
    taken = 0
    if (granted > 0) port.postMessage(granted)
  }
  return () => {
    if (taken++ === 0) setImmediate(grant)
  }
}

/**
 * The server's end: calls `deliver` with every frame in arrival order and grants the credit back once per turn of
 * the event loop (one message for however many frames arrived). Ends when the port closes.
 *
 * The worker's pacer spaced the frames; a stall of the server's thread (a GC pause, a burst of I/O) would bunch them
 * on the port, and they would leave as a burst. So the pacer's catch-up rule holds here too: a frame goes no sooner
 * than `Pacer.catchUp` of its emission interval after the frame before it (never held for under a millisecond, so a
 * fast stream is not slowed by timer granularity). Bench 4 with the model in a worker saw one burst in two of three
 * 10 s windows before this rule, against none in-process. Frames still held when the port closes are delivered then.
 * The spacing reads and sleeps on Effect's `Clock` (a `TestClock` in tests).
 */
export const receive = (port: MessagePort, deliver: (frame: FrameBus.OutFrame) => void): Effect.Effect<void> =>
  Effect.flatMap(Effect.clock, (clock) =>
    Effect.async<void>((resume) => {
      const took = granter(port)
      const held: Array<FrameBus.OutFrame> = []
      let timer: Fiber.RuntimeFiber<void> | undefined
      let lastAt = 0
      let lastEmittedAt: number | undefined
      const cancel = () => {
        if (timer === undefined) return
        Effect.runFork(Fiber.interrupt(timer))
        timer = undefined
      }
      const forward = (out: FrameBus.OutFrame) => {
        lastAt = clock.unsafeCurrentTimeMillis()
        lastEmittedAt = out.emittedAt
        deliver(out)
        took()
      }
      const drain = () => {
        timer = undefined
        while (held.length > 0) {
          const next = held[0]!
          if (lastEmittedAt !== undefined) {
            const wait = lastAt + Pacer.catchUp * Math.max(0, next.emittedAt - lastEmittedAt) -
              clock.unsafeCurrentTimeMillis()
            if (wait >= 1) {
              const sleeping = Effect.runFork(clock.sleep(Duration.millis(wait)))
              timer = sleeping
              sleeping.addObserver((exit) => {
                if (timer === sleeping && Exit.isSuccess(exit)) drain()
              })
              return
            }
          }
          forward(held.shift()!)
        }
      }
      port.on("message", (wire: Wire) => {
        held.push({
          index: wire.index,
          frame: { width: wire.width, height: wire.height, data: wire.data },
          generatedAt: wire.generatedAt,
          emittedAt: wire.emittedAt,
          ...(wire.metadata !== undefined ? { metadata: wire.metadata } : {}),
          ...(wire.extras !== undefined
            ? {
              extras: wire.extras.map((extra) => ({
                track: extra.track,
                frame: { width: extra.width, height: extra.height, data: extra.data }
              }))
            }
            : {})
        })
        if (timer === undefined) drain()
      })
      port.once("close", () => {
        cancel()
        while (held.length > 0) forward(held.shift()!)
        resume(Effect.void)
      })
      return Effect.sync(() => {
        // interrupted: the session's frames are no longer wanted
        cancel()
        held.length = 0
        port.close()
      })
    }))
