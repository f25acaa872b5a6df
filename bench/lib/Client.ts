/**
 * A benchmark client: one WebSocket to a session, with frame and ack dispatch. Arrival times are taken with
 * `performance.now()` as the message handler starts.
 */
import WebSocket from "ws"

/** An acknowledged command. */
export interface Ack {
  readonly id: number | string
  readonly command: string
  readonly frame: number
}

/** One session's socket. */
export interface Connection {
  readonly ws: WebSocket
  /** Called for every binary message (header + payload) with its arrival time. */
  onFrame: ((message: Buffer, at: number) => void) | undefined
  /** Sends a command with an id and resolves with its ack (rejects on `error`, close, or after `timeoutMs`). */
  readonly request: (type: string, data: unknown, timeoutMs?: number) => Promise<Ack>
  /** Sends a command without waiting. */
  readonly send: (type: string, data: unknown, id?: number) => void
  readonly close: () => Promise<void>
}

interface Pending {
  readonly resolve: (ack: Ack) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

/** Connects and resolves once the server's `sessionReady` arrived (`timeoutMs` at most). */
export const connect = (url: string, timeoutMs = 15_000): Promise<Connection> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 })
    const pending = new Map<number | string, Pending>()
    let nextId = 1
    let ready = false
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`no sessionReady from ${url} within ${timeoutMs} ms`))
    }, timeoutMs)
    const failAll = (error: Error) => {
      for (const [id, p] of pending) {
        clearTimeout(p.timer)
        p.reject(error)
        pending.delete(id)
      }
    }
    const connection: Connection = {
      ws,
      onFrame: undefined,
      send: (type, data, id) => ws.send(JSON.stringify({ scope: "application", data: { type, data, id } })),
      request: (type, data, requestTimeoutMs = 10_000) =>
        new Promise<Ack>((resolveAck, rejectAck) => {
          const id = nextId++
          const t = setTimeout(() => {
            pending.delete(id)
            rejectAck(new Error(`command ${type} #${id} not acked within ${requestTimeoutMs} ms`))
          }, requestTimeoutMs)
          pending.set(id, { resolve: resolveAck, reject: rejectAck, timer: t })
          ws.send(JSON.stringify({ scope: "application", data: { type, data, id } }))
        }),
      close: () =>
        new Promise<void>((done) => {
          if (ws.readyState === WebSocket.CLOSED) return done()
          const t = setTimeout(() => {
            ws.terminate()
            done()
          }, 2000)
          ws.once("close", () => {
            clearTimeout(t)
            done()
          })
          ws.close(1000)
        })
    }
    ws.on("message", (data: Buffer, isBinary) => {
      const at = performance.now()
      if (isBinary) {
        connection.onFrame?.(data, at)
        return
      }
      const envelope = JSON.parse(data.toString()) as {
        readonly scope?: string
        readonly data: { readonly type: string; readonly data: any }
      }
      switch (envelope.data.type) {
        case "sessionReady":
          if (!ready) {
            ready = true
            clearTimeout(timer)
            resolve(connection)
          }
          return
        case "commandAck": {
          const ack = envelope.data.data as Ack
          const p = pending.get(ack.id)
          if (p !== undefined) {
            pending.delete(ack.id)
            clearTimeout(p.timer)
            p.resolve(ack)
          }
          return
        }
        case "error": {
          const error = envelope.data.data as { code: string; message: string; id?: number | string }
          const p = error.id !== undefined ? pending.get(error.id) : undefined
          if (p !== undefined) {
            pending.delete(error.id!)
            clearTimeout(p.timer)
            p.reject(new Error(`${error.code}: ${error.message}`))
          }
          return
        }
      }
    })
    ws.on("error", (error) => {
      failAll(error)
      if (!ready) {
        clearTimeout(timer)
        reject(error)
      }
    })
    ws.on("close", (code, reason) => {
      failAll(new Error(`socket closed ${code} ${reason.toString()}`))
      if (!ready) {
        clearTimeout(timer)
        reject(new Error(`socket closed before sessionReady: ${code} ${reason.toString()}`))
      }
    })
  })

/** Opens `n` connections with at most `concurrency` opening at once. */
export const openMany = async (
  n: number,
  open: () => Promise<Connection>,
  concurrency = 16
): Promise<Array<Connection>> => {
  const out: Array<Connection> = []
  let next = 0
  const worker = async () => {
    while (next < n) {
      next++
      out.push(await open())
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker))
  return out
}

/** Waits `ms`. */
export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
