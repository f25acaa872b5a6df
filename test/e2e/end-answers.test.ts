/**
 * Every command a client sent gets exactly one answer before the session's end is announced (issue 15, fault 6):
 * commands still waiting when `DELETE /sessions/<id>` stops the session are answered `session_closed` (or applied),
 * before `sessionEnded` and the close, on every transport (WebSocket, WebRTC data channel, RPC).
 */
import { Effect, Fiber } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ReactorClient } from "../../src/client/index.js"
import type * as Server from "../../src/server/Server.js"
import { Commands } from "../fixtures/server-model.js"
import { until } from "../sdk/NodeSdk.js"
import { connect, http, startServer, startSession } from "./helpers.js"
import * as RawPeer from "./RawPeer.js"

const count = 40

/** The answers per command id among `messages`, up to the first `sessionEnded` (which must be there). */
const answersBeforeEnd = (messages: ReadonlyArray<{ readonly type: string; readonly data: any }>) => {
  const end = messages.findIndex((m) => m.type === "sessionEnded")
  expect(end, "sessionEnded was received").toBeGreaterThanOrEqual(0)
  const answers = new Map<number, Array<string>>()
  for (const message of messages.slice(0, end)) {
    const id = message.data?.id
    if (typeof id !== "number") continue
    if (message.type === "commandAck") answers.set(id, [...(answers.get(id) ?? []), "ack"])
    else if (message.type === "error") answers.set(id, [...(answers.get(id) ?? []), message.data.code])
  }
  // no answer after sessionEnded either
  for (const message of messages.slice(end + 1)) expect(message.type).not.toBe("commandAck")
  return answers
}

const expectOneAnswerEach = (answers: Map<number, Array<string>>) => {
  const unanswered = Array.from({ length: count }, (_, i) => i).filter((i) => answers.get(i) === undefined)
  expect(unanswered, "commands without an answer before sessionEnded").toEqual([])
  for (const [id, list] of answers) {
    expect(list.length, `answers to command ${id}: ${list}`).toBe(1)
    expect(["ack", "session_closed"]).toContain(list[0])
  }
  // the stop came while most of them waited: they were refused, not applied
  expect([...answers.values()].filter((list) => list[0] === "session_closed").length).toBeGreaterThan(0)
}

describe("commands in flight when the session is stopped through the API", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ maxSessions: 8, statsIntervalMs: 60_000 })
  })
  afterAll(() => server.close())

  it("WebSocket: each gets an ack or session_closed before sessionEnded, then the socket closes with 1000", async () => {
    const { client, session } = await connect(server)
    for (let i = 0; i < count; i++) client.command("sleep", { ms: 50 }, i)
    // the server has read them all once the first is applied (it is answered before the next is handled)
    await client.next((m) => m.type === "commandAck" && m.data.id === 0)
    expect((await http(server, "DELETE", `/sessions/${session.session_id}`)).status).toBe(200)
    expect((await client.closed).code).toBe(1000)
    const answers = answersBeforeEnd(client.texts)
    expectOneAnswerEach(answers)
    expect(answers.get(0)).toEqual(["ack"])
  })

  it("WebRTC data channel: each gets an ack or session_closed before sessionEnded", async () => {
    const id = (await http(server, "POST", "/start_session", { body: {} })).body.session_id as string
    const peer = await RawPeer.connect(server.url, id)
    try {
      for (let i = 0; i < count; i++) {
        peer.send({ scope: "application", data: { type: "sleep", data: { ms: 50 }, id: i } })
      }
      await until("the first ack", () => peer.received.some((m) => m.type === "commandAck"))
      expect((await http(server, "DELETE", `/sessions/${id}`)).status).toBe(200)
      await until("sessionEnded", () => peer.received.some((m) => m.type === "sessionEnded"))
      // the data channel's messages are `{scope, type, data}`
      expectOneAnswerEach(answersBeforeEnd(peer.received))
    } finally {
      peer.close()
    }
  }, 30_000)

  it("RPC: each request is answered with an Ack or a SessionClosed / session_closed failure", async () => {
    const session = await startSession(server)
    const outcomes = await Effect.runPromise(
      Effect.gen(function*() {
        const client = yield* ReactorClient.make(Commands, {
          url: server.url,
          sessionId: session.session_id,
          reconnects: 0
        })
        const fibers = yield* Effect.forEach(
          Array.from({ length: count }, () => 0),
          () => Effect.fork(Effect.either(client.commands.sleep({ ms: 50 }))),
          { concurrency: "unbounded" }
        )
        const first = yield* Fiber.join(fibers[0]!)
        expect(first._tag).toBe("Right")
        yield* Effect.promise(() => http(server, "DELETE", `/sessions/${session.session_id}`))
        return yield* Effect.forEach(fibers, (fiber) => Fiber.await(fiber)).pipe(Effect.timeout("10 seconds"))
      }).pipe(Effect.scoped)
    )
    const kinds = outcomes.map((exit) => {
      if (exit._tag === "Failure") return `defect or interruption: ${String(exit.cause)}`
      const either = exit.value
      if (either._tag === "Right") return "ack"
      const error = either.left as { readonly _tag: string; readonly code?: string }
      return error.code === "session_closed" ? "session_closed" : `${error._tag} ${error.code ?? ""}`
    })
    expect(kinds.filter((kind) => kind !== "ack" && kind !== "session_closed")).toEqual([])
    expect(kinds.filter((kind) => kind === "session_closed").length).toBeGreaterThan(0)
  }, 30_000)
})
