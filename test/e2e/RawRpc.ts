/**
 * A hand-made `@effect/rpc` client for tests: a plain `ws` socket to a session's RPC transport that sends any
 * msgpack value (well-formed requests or not) and records every message the server answers. It only borrows
 * @effect/rpc's msgpack codec (the wire format), none of the server's code.
 */
import { RpcSerialization } from "@effect/rpc"
import WebSocket from "ws"
import type * as Server from "../../src/server/Server.js"
import { sleep } from "./helpers.js"

/** One answer from the server, as decoded from msgpack. */
export type Response = Record<string, any>

export class RawRpc {
  readonly responses: Array<Response> = []
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>
  private readonly codec = RpcSerialization.msgPack.unsafeMake()
  private readonly decoder = RpcSerialization.msgPack.unsafeMake()
  isClosed = false

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => {
        this.isClosed = true
        resolve({ code, reason: reason.toString() })
      })
    )
    ws.on("error", () => {})
    ws.on("message", (data: Buffer) => {
      const values = this.decoder.decode(new Uint8Array(data)) as Array<Response>
      for (const value of values) {
        this.responses.push(value)
        // a stream's chunks are acknowledged, as @effect/rpc's own client does
        if (value._tag === "Chunk") this.send({ _tag: "Ack", requestId: value.requestId })
      }
    })
  }

  static async open(server: Server.Handle, sessionId: string): Promise<RawRpc> {
    const client = new RawRpc(
      new WebSocket(`${server.wsUrl}/sessions/${sessionId}/transport/rpc`, { perMessageDeflate: false })
    )
    await client.opened
    return client
  }

  /** Sends values as one WebSocket message (a msgpack sequence). */
  send(...values: ReadonlyArray<unknown>) {
    this.ws.send(this.encode(...values))
  }

  /** The bytes of values as one message (msgpack, as @effect/rpc's client encodes them). */
  encode(...values: ReadonlyArray<unknown>): Buffer {
    return Buffer.concat(values.map((value) => this.codec.encode(value) as Uint8Array))
  }

  /** A well-formed request. */
  static request(id: string, tag: string, payload: unknown): Response {
    return { _tag: "Request", id, tag, payload, headers: [] }
  }

  /** The `Exit` answering a request id, once it is there. */
  async exitOf(id: string, timeoutMs = 10_000): Promise<Response> {
    const found = await this.waitFor((r) => r._tag === "Exit" && r.requestId === id, timeoutMs)
    if (found === undefined) {
      const seen = this.responses.slice(-5).map((r) => `${r._tag}${r.requestId !== undefined ? ` ${r.requestId}` : ""}`)
      throw new Error(`no Exit for request ${id}; the last answers: ${seen.join(", ") || "none"}`)
    }
    return found
  }

  /** Waits until a response matches (polling; the answer, not the time it took, is what tests assert). */
  async waitFor(pred: (r: Response) => boolean, timeoutMs = 10_000): Promise<Response | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.responses.find(pred)
      if (found !== undefined || Date.now() > deadline || this.isClosed) return found
      await sleep(20)
    }
  }

  close() {
    this.ws.terminate()
  }
}
