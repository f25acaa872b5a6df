/**
 * `WsTransport.closeSocket` on a stand-in socket and a fake clock: a client still reading what was queued before
 * the close (a large frame, then `sessionEnded`) is not cut off; one that reads nothing for `closeGraceMs` is.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import type { WebSocket } from "ws"
import { closeGraceMs, closeSocket } from "../../src/transport/WsTransport.js"

/** The parts of a `ws` socket `closeSocket` uses; `bufferedAmount` is what the test says the client left unread. */
const fakeSocket = (bufferedAmount: number) => {
  const listeners: Array<() => void> = []
  const socket = {
    readyState: 1,
    bufferedAmount,
    closes: [] as Array<number>,
    terminated: false,
    close(code: number) {
      socket.closes.push(code)
      socket.readyState = 2
    },
    terminate() {
      socket.terminated = true
      socket.readyState = 3
      for (const listener of listeners.splice(0)) listener()
    },
    once(_event: "close", listener: () => void) {
      listeners.push(listener)
    }
  }
  return socket
}

describe("closeSocket", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("terminates a socket whose client reads nothing within closeGraceMs", () => {
    const socket = fakeSocket(8 * 1024 * 1024)
    closeSocket(socket as unknown as WebSocket, 4429, "too slow")
    expect(socket.closes).toEqual([4429])
    vi.advanceTimersByTime(closeGraceMs)
    expect(socket.terminated).toBe(true)
  })

  it("terminates an idle socket (nothing queued) that does not answer the close within closeGraceMs", () => {
    const socket = fakeSocket(0)
    closeSocket(socket as unknown as WebSocket, 1000, "session ended")
    vi.advanceTimersByTime(closeGraceMs - 1)
    expect(socket.terminated).toBe(false)
    vi.advanceTimersByTime(1)
    expect(socket.terminated).toBe(true)
  })

  it("lets a client that is still reading a large queue finish it, then gives it closeGraceMs to answer", () => {
    const socket = fakeSocket(48 * 1024 * 1024)
    closeSocket(socket as unknown as WebSocket, 1000, "session ended")
    for (const left of [40, 30, 20, 10, 1]) {
      socket.bufferedAmount = left * 1024 * 1024
      vi.advanceTimersByTime(closeGraceMs)
      expect(socket.terminated, `${left} MiB left`).toBe(false)
    }
    socket.bufferedAmount = 0
    vi.advanceTimersByTime(closeGraceMs)
    expect(socket.terminated).toBe(false)
    vi.advanceTimersByTime(closeGraceMs)
    expect(socket.terminated).toBe(true)
  })

  it("terminates a client that stops reading part-way", () => {
    const socket = fakeSocket(48 * 1024 * 1024)
    closeSocket(socket as unknown as WebSocket, 1000, "session ended")
    socket.bufferedAmount = 20 * 1024 * 1024
    vi.advanceTimersByTime(closeGraceMs)
    expect(socket.terminated).toBe(false)
    vi.advanceTimersByTime(closeGraceMs)
    expect(socket.terminated).toBe(true)
  })
})
