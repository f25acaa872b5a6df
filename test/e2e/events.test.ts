/**
 * `/events` from the outside: a browser's `EventSource` (Chromium's, a real SSE client) follows the lifecycle of a
 * session driven over HTTP and a socket; a plain HTTP client resumes with `Last-Event-ID` and `?since=`; the kept
 * history is bounded; the endpoint takes the operator's token, not the viewers'.
 */
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as Server from "../../src/server/Server.js"
import * as Chromium from "../web/Chromium.js"
import { Client, eventually, http, startServer, startSession } from "./helpers.js"

interface Sse {
  readonly id: number
  readonly data: { readonly event: string; readonly session_id: string; readonly ts: number; readonly detail: any }
}

/** Reads SSE messages from a fetch response until `count` arrived (or the time is up), then aborts it. */
const read = async (url: string, headers: Record<string, string>, count: number, timeoutMs = 10_000) => {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  const response = await fetch(url, { headers, signal: abort.signal })
  const out: Array<Sse> = []
  const raw: Array<string> = []
  if (response.status !== 200) {
    clearTimeout(timer)
    return { status: response.status, body: await response.json(), out, raw, headers: response.headers }
  }
  const decoder = new TextDecoder()
  let buffer = ""
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        raw.push(block)
        const id = /^id: (\d+)$/m.exec(block)
        const data = /^data: (.*)$/m.exec(block)
        if (id !== null && data !== null) out.push({ id: Number(id[1]), data: JSON.parse(data[1]!) })
      }
      if (out.length >= count) break
    }
  } catch {
    // aborted: the time is up
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
  return { status: 200, body: undefined, out, raw, headers: response.headers }
}

const operator = { authorization: "Bearer op-secret" }

describe("/events", { timeout: 90_000 }, () => {
  let server: Server.Handle

  beforeAll(async () => {
    server = await startServer({ maxSessions: 4, operatorToken: "op-secret", graceMs: 60_000 })
  })
  afterAll(() => server?.close())

  it("takes the operator's token only", async () => {
    expect((await read(`${server.url}/events`, {}, 0)).status).toBe(401)
    expect((await read(`${server.url}/events`, { authorization: "Bearer nope" }, 0)).body).toMatchObject({
      code: "unauthorized"
    })
    const ok = await read(`${server.url}/events`, operator, 0, 1_000)
    expect(ok.status).toBe(200)
    expect(ok.headers.get("content-type")).toContain("text/event-stream")
    // the viewers' endpoints stay open (no viewer token on this server)
    expect((await http(server, "GET", "/health")).status).toBe(200)
  })

  it("replays what came after Last-Event-ID or ?since, then follows live; a bad id is refused", async () => {
    const session = await startSession(server)
    const client = Client.connect(server, session.selected_transport.url)
    await client.next("sessionReady")
    await client.close()
    // everything so far, from the start
    const all = await read(`${server.url}/events?since=0`, operator, 3)
    const mine = all.out.filter((e) => e.data.session_id === session.session_id)
    expect(mine.map((e) => e.data.event)).toEqual(["session_started", "connection_opened", "connection_closed"])
    expect(mine.map((e) => e.id)).toEqual([...mine.map((e) => e.id)].sort((a, b) => a - b))
    const started = mine[0]!
    // resume after session_started, by header: the two after it, then the live end of the session
    const resumed = read(`${server.url}/events`, { ...operator, "last-event-id": String(started.id) }, 3)
    await http(server, "POST", "/stop_session", { body: { session_id: session.session_id } })
    const after = (await resumed).out.filter((e) => e.data.session_id === session.session_id)
    expect(after.map((e) => e.data.event)).toEqual(["connection_opened", "connection_closed", "session_ended"])
    expect(after[2]!.data.detail).toMatchObject({ reason: "stopped" })
    expect(after[0]!.id).toBe(mine[1]!.id)
    // ?since wins over the header
    const since = await read(
      `${server.url}/events?since=${mine[1]!.id}`,
      { ...operator, "last-event-id": "0" },
      1,
      3_000
    )
    expect(since.out[0]!.id).toBe(mine[2]!.id)
    expect((await read(`${server.url}/events?since=abc`, operator, 0)).status).toBe(400)
  })

  it("keeps a bounded history: a replay from long ago starts at the oldest kept event", async () => {
    const small = await startServer({ maxSessions: 4, eventHistory: 3 })
    try {
      for (let i = 0; i < 3; i++) {
        const session = await startSession(small)
        await http(small, "POST", "/stop_session", { body: { session_id: session.session_id } })
      }
      // six events so far (started, ended x 3): only the last three are kept
      expect(
        await eventually(async () => (await read(`${small.url}/events?since=0`, {}, 3, 2_000)).out.at(-1)?.id === 6)
      )
        .toBe(true)
      const replay = await read(`${small.url}/events?since=0`, {}, 3, 2_000)
      expect(replay.out.map((e) => e.id)).toEqual([4, 5, 6])
    } finally {
      await small.close()
    }
  })

  describe.skipIf(!Chromium.run)("in Chromium", () => {
    let browser: Browser
    let page: Page
    beforeAll(async () => {
      browser = await Chromium.launch()
      page = await browser.newPage()
      await page.goto(`${server.url}/health`)
    })
    afterAll(() => browser?.close())

    it("an EventSource follows a session's lifecycle, in order", async () => {
      await page.evaluate(() => {
        const w = window as unknown as { seen: Array<{ id: string; data: any }>; source: EventSource }
        w.seen = []
        w.source = new EventSource("/events?token=op-secret")
        w.source.onmessage = (event) => w.seen.push({ id: event.lastEventId, data: JSON.parse(event.data) })
        return new Promise((resolve) => (w.source.onopen = resolve))
      })
      const session = await startSession(server)
      const client = Client.connect(server, session.selected_transport.url)
      await client.next("sessionReady")
      await http(server, "POST", "/stop_session", { body: { session_id: session.session_id } })
      await client.closed
      const events = () =>
        page.evaluate(
          (id) =>
            (window as unknown as { seen: Array<{ id: string; data: any }> }).seen.filter((e) =>
              e.data.session_id === id
            )
              .map((e) => e.data.event),
          session.session_id
        )
      // the connection's close and the session's end race each other; the rest is in order
      await expect.poll(async () => (await events()).length, { timeout: 20_000 }).toBe(4)
      const seen = await events()
      expect(seen.slice(0, 2)).toEqual(["session_started", "connection_opened"])
      expect([...seen.slice(2)].sort()).toEqual(["connection_closed", "session_ended"])
    })
  })
})
