/**
 * A session's audio from a model host to the server: a `MessagePort` of its own, handed over in the `Start` call,
 * one message per chunk with its samples' buffer transferred. Chunks are released in the host when they are due to
 * play (`AudioOut`), so the link needs no window: a few kilobytes every few tens of milliseconds.
 */
import { Effect } from "effect"
import type { MessagePort } from "node:worker_threads"
import type * as Output from "../model/Output.js"

/** The worker's end: `send` posts a released chunk (its samples are the session's own copy, moved); `close` ends it. */
export const sender = (port: MessagePort) => {
  let closed = false
  port.on("close", () => {
    closed = true
  })
  return {
    send: (chunk: Output.OutAudio): Effect.Effect<void> =>
      Effect.sync(() => {
        if (closed) return
        try {
          port.postMessage(chunk, [chunk.samples.buffer as ArrayBuffer])
        } catch {
          // the port is closing: the chunk is dropped
        }
      }),
    close: Effect.sync(() => {
      closed = true
      port.close()
    })
  }
}

/** The server's end: hands every chunk to `deliver` in arrival order; returns a function that closes the port. */
export const receive = (port: MessagePort, deliver: (chunk: Output.OutAudio) => void): () => void => {
  port.on("message", (chunk: Output.OutAudio) => deliver(chunk))
  return () => port.close()
}
