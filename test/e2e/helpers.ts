/**
 * Test helpers for the server suites: a server in-process on port 0, HTTP calls, and a plain `ws` client that
 * collects what it receives and waits for the message a test expects.
 */
import { LogLevel } from "effect"
import { fileURLToPath } from "node:url"
import WebSocket from "ws"
import type * as ServerConfig from "../../src/config/ServerConfig.js"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
import * as Server from "../../src/server/Server.js"
import * as Fixture from "../fixtures/server-model.js"

/** Set `REACTOR_TEST_LOGS=1` to see the server's logs. */
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

/**
 * Where the fixture model runs: in the test's thread, or with `REACTOR_TEST_ISOLATION=worker` in a worker thread as
 * `reactor run` serves it (test/e2e/worker.test.ts runs the server suites that way too).
 */
const serving = (fixture: Fixture.FixtureOptions): Server.Serving => {
  if (process.env.REACTOR_TEST_ISOLATION !== "worker") return Fixture.make(fixture)
  process.env.REACTOR_FIXTURE = JSON.stringify(fixture)
  return { _tag: "Worker", module: fileURLToPath(new URL("../fixtures/server-model-worker.ts", import.meta.url)) }
}

export const startServer = (options: ServerConfig.Input = {}, fixture: Fixture.FixtureOptions = {}) =>
  Server.listen(serving(fixture), { host: "127.0.0.1", port: 0, ...options }, undefined, logLevel)

export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

export const http = async (
  server: Server.Handle,
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly headers?: Record<string, string> } = {}
): Promise<HttpAnswer> => {
  const response = await fetch(server.url + path, {
    method,
    headers: { ...(options.body !== undefined ? { "content-type": "application/json" } : {}), ...options.headers },
    ...(options.body !== undefined
      ? { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }
      : {})
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: the page's assets
  }
  return { status: response.status, headers: response.headers, body }
}

export const startSession = async (server: Server.Handle, headers: Record<string, string> = {}) => {
  const answer = await http(server, "POST", "/start_session", {
    body: { supported_transports: [{ protocol: "websocket", version: "1" }] },
    headers
  })
  if (answer.status !== 200) throw new Error(`start_session: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body as { session_id: string; selected_transport: { url: string } }
}

/** A runtime/application message as received: `{scope, type, data}`. */
export interface Received {
  readonly scope: string
  readonly type: string
  readonly data: any
}

export interface FrameReceived {
  readonly header: FrameHeader.Header
  readonly payload: Buffer
}

/** A `ws` client that records every message. */
export class Client {
  readonly texts: Array<Received> = []
  readonly frames: Array<FrameReceived> = []
  /** Every frame header received (the payloads are kept only for the last 50 frames). */
  readonly headers: Array<FrameHeader.Header> = []
  private unread: Array<Received> = []
  private waiters: Array<{ pred: (m: Received) => boolean; resolve: (m: Received) => void }> = []
  private frameWaiters: Array<() => void> = []
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>
  keepFrames = true
  frameCount = 0

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }))
    )
    ws.on("error", () => {})
    ws.on("message", (data: Buffer, isBinary) => {
      if (isBinary) {
        this.frameCount++
        const header = FrameHeader.readHeader(data)
        if (header !== undefined) this.headers.push(header)
        if (this.keepFrames && header !== undefined) {
          this.frames.push({ header, payload: data.subarray(FrameHeader.headerBytes) })
          if (this.frames.length > 50) this.frames.shift()
        }
        for (const wake of this.frameWaiters.splice(0)) wake()
        return
      }
      const parsed = JSON.parse(data.toString())
      const message: Received = { scope: parsed.scope, type: parsed.data?.type, data: parsed.data?.data ?? parsed.data }
      this.texts.push(message)
      const index = this.waiters.findIndex((w) => w.pred(message))
      if (index >= 0) {
        const [waiter] = this.waiters.splice(index, 1)
        waiter!.resolve(message)
      } else this.unread.push(message)
    })
  }

  static connect(server: Server.Handle, path: string, headers: Record<string, string> = {}) {
    return new Client(new WebSocket(server.wsUrl + path, { headers }))
  }

  send(message: unknown) {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message))
  }

  command(type: string, data: unknown, id?: string | number) {
    this.send({ scope: "application", data: { type, data, ...(id !== undefined ? { id } : {}) } })
  }

  runtime(type: string, data: unknown = {}) {
    this.send({ scope: "runtime", data: { type, data } })
  }

  /** Waits for (and consumes) the first unread message matching. */
  next(pred: string | ((m: Received) => boolean), timeoutMs = 20_000): Promise<Received> {
    const test = typeof pred === "string" ? (m: Received) => m.type === pred : pred
    const index = this.unread.findIndex(test)
    if (index >= 0) return Promise.resolve(this.unread.splice(index, 1)[0]!)
    return new Promise((resolve, reject) => {
      const waiter = { pred: test, resolve: (m: Received) => (clearTimeout(timer), resolve(m)) }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(
          new Error(
            `timed out waiting for ${String(pred)}; received ${
              JSON.stringify(this.texts.map((t) => t.type === "error" ? `error ${JSON.stringify(t.data)}` : t.type))
            }`
          )
        )
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }

  error(code: string, timeoutMs?: number) {
    return this.next((m) => m.type === "error" && m.data.code === code, timeoutMs)
  }

  /** Waits until `n` more frames arrived. */
  async waitFrames(n: number, timeoutMs = 20_000) {
    const target = this.frameCount + n
    const deadline = Date.now() + timeoutMs
    while (this.frameCount < target) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} frames (got ${this.frameCount})`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100)
        this.frameWaiters.push(() => (clearTimeout(t), resolve()))
      })
    }
  }

  close() {
    this.ws.close()
    return this.closed
  }
}

/** Starts a session and connects a socket to it, waiting for `sessionReady`. */
export const connect = async (server: Server.Handle, query = "", headers: Record<string, string> = {}) => {
  const session = await startSession(server, headers)
  const client = Client.connect(server, session.selected_transport.url + query, headers)
  const ready = await client.next("sessionReady")
  return { session, client, ready }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** `GET /sessions/{id}/info`. */
export const info = (server: Server.Handle, sessionId: string) => http(server, "GET", `/sessions/${sessionId}/info`)

/**
 * Polls `check` until it holds or `timeoutMs` passes, and says whether it held: the answer, not how long it took, is
 * what a test asserts (the bound is generous, a last resort for a machine at load 5-12).
 */
export const eventually = async (check: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 50) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(everyMs)
  }
  return check()
}
