/**
 * The cluster end to end on loopback: PostgreSQL, `reactor coordinator` and two runners (`reactor run --join`) as
 * subprocesses. Sessions start through the coordinator with plain HTTP (Reactor's coordinator API, a JWT), then the
 * client talks to its runner over the runner's WebSocket transport. Placement stays within capacity and spreads; a
 * full cluster answers `no_capacity`; a runner killed with SIGKILL ends its sessions `runner_lost` while the other's
 * keep streaming, and new sessions land on the survivors; a runner that joins later takes new sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import * as Jwt from "../../src/cluster/Jwt.js"
import { Client, eventually } from "../e2e/helpers.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import { schemas } from "../sdk/SdkSchemas.js"
import * as Cluster from "./Cluster.js"
import * as Postgres from "./Postgres.js"

if (!Postgres.run) console.warn(`test/cluster/cluster.test.ts: skipped, ${Postgres.missing}`)

const model = "test/fixtures/web-colors.ts"

interface Session {
  readonly session_id: string
  readonly state: string
  readonly reason?: string
  readonly message?: string
  readonly runner?: { readonly id: string; readonly url: string }
  readonly selected_transport?: { readonly protocol: string; readonly url: string }
  readonly capabilities?: unknown
}

describe.skipIf(!Postgres.run)("cluster: coordinator and runners on loopback", { timeout: subprocessTestMs }, () => {
  let cluster: Cluster.Cluster
  const clients: Array<Client> = []
  /** Every session the tests opened, with its client. */
  const opened: Array<{ readonly session: Session; readonly client: Client }> = []
  beforeAll(async () => {
    cluster = await Cluster.start([{ model, maxSessions: 2 }, { model, maxSessions: 2 }])
  }, subprocessTestMs)
  afterAll(async () => {
    for (const client of clients) client.ws.terminate()
    await Promise.all(clients.map((client) => client.closed))
    await cluster?.stop()
  })

  const create = async (
    body: unknown = { model: { name: "web-colors" }, supported_transports: [{ protocol: "websocket", version: "1" }] }
  ) => {
    const response = await cluster.api("/sessions", { method: "POST", body: JSON.stringify(body) })
    return { status: response.status, body: await response.json() as Session & { code?: string } }
  }
  const get = async (id: string): Promise<Session> => (await cluster.api(`/sessions/${id}`)).json() as Promise<Session>
  const active = async (id: string): Promise<Session> => {
    let session: Session | undefined
    const ok = await eventually(
      async () => {
        session = await get(id)
        return session.state !== "PENDING"
      },
      subprocessMs,
      100
    )
    if (!ok) throw new Error(`session ${id} stayed PENDING`)
    return session!
  }
  /** Starts a session through the coordinator and opens the runner's WebSocket transport. */
  const open = async () => {
    const created = await create()
    expect(created.status, JSON.stringify(created.body)).toBe(200)
    expect(schemas.CreateSessionResponseSchema.safeParse(created.body).success).toBe(true)
    const session = await active(created.body.session_id)
    expect(session.state, JSON.stringify(session)).toBe("ACTIVE")
    const client = new Client(new WebSocket(session.selected_transport!.url))
    clients.push(client)
    await client.next("sessionReady", subprocessMs)
    // the liveness ping Reactor's clients send every 5 s (a silent socket is closed after 10 s)
    const ping = setInterval(() => client.ws.readyState === WebSocket.OPEN && client.runtime("ping"), 2_000)
    void client.closed.then(() => clearInterval(ping))
    opened.push({ session, client })
    return { session, client }
  }

  it("answers /health without a token and refuses requests without a valid JWT", async () => {
    const health = await fetch(`${cluster.coordinator.url}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: "ok", capacity: 4, sessions: 0 })
    const none = await fetch(`${cluster.coordinator.url}/sessions`, { method: "POST", body: "{}" })
    expect(none.status).toBe(401)
    expect(await none.json()).toMatchObject({ code: "unauthorized" })
    const forged = Jwt.sign({ sub: "x" }, "another-secret-0123456789")
    const wrong = await fetch(`${cluster.coordinator.url}/sessions/x`, {
      headers: { Authorization: `Bearer ${forged}` }
    })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toMatchObject({ code: "unauthorized", message: expect.stringContaining("signature") })
    const expired = Jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, Cluster.jwtSecret)
    const old = await fetch(`${cluster.coordinator.url}/sessions/x`, {
      headers: { Authorization: `Bearer ${expired}` }
    })
    expect(await old.json()).toMatchObject({ code: "unauthorized", message: expect.stringContaining("expired") })
  })

  it("refuses bad requests with specific errors, and a runner refuses sessions that do not come from the coordinator", async () => {
    expect(await create({})).toMatchObject({ status: 400, body: { code: "invalid_request" } })
    expect(await create({ model: { name: "no-such-model" } })).toMatchObject({
      status: 503,
      body: { code: "no_runner", message: expect.stringContaining("web-colors") }
    })
    expect((await cluster.api("/sessions/nope")).status).toBe(404)
    const direct = await fetch(`${cluster.runners[0]!.url}/start_session`, { method: "POST", body: "{}" })
    expect(direct.status).toBe(403)
    expect(await direct.json()).toMatchObject({ code: "cluster_runner" })
  })

  it("places sessions within capacity, spread over the runners; the client streams from its runner; a full cluster answers no_capacity", async () => {
    const four = [await open(), await open(), await open(), await open()]
    const perRunner = new Map<string, number>()
    for (const { session } of four) perRunner.set(session.runner!.id, (perRunner.get(session.runner!.id) ?? 0) + 1)
    expect([...perRunner.values()]).toEqual([2, 2])
    for (const { session } of four) {
      expect(schemas.SessionResponseSchema.safeParse(session).success).toBe(true)
      expect(schemas.CapabilitiesSchema.safeParse(session.capabilities).success).toBe(true)
    }
    // frames flow and commands reach the model, straight between client and runner
    for (const { client } of four) await client.waitFrames(3, subprocessMs)
    four[0]!.client.command("reset", {})
    expect(await four[0]!.client.next((m) => m.scope === "application", subprocessMs)).toMatchObject({ type: "reset" })

    // an upload slot is asked of the session's runner: the coordinator answers what the runner answers
    const slot = { name: "a.png", size: 10, mime_type: "image/png" }
    const viaCoordinator = await cluster.api(`/sessions/${four[1]!.session.session_id}/uploads`, {
      method: "POST",
      body: JSON.stringify(slot)
    })
    const runnerSessionId = /\/sessions\/([^/]+)\//.exec(four[1]!.session.selected_transport!.url)![1]
    const direct = await fetch(`${four[1]!.session.runner!.url}/sessions/${runnerSessionId}/uploads`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(slot)
    })
    expect(viaCoordinator.status).toBe(direct.status)
    expect((await viaCoordinator.json() as { code?: string }).code).toBe(
      (await direct.json() as { code?: string }).code
    )

    // relayed bodies are bounded
    const huge = await cluster.api(`/sessions/${four[1]!.session.session_id}/transport/webrtc/sdp_params`, {
      method: "POST",
      body: "x".repeat(300 * 1024)
    })
    expect(huge.status).toBe(413)
    expect(await huge.json()).toMatchObject({ code: "body_too_large" })

    const full = await create()
    expect(full.status).toBe(503)
    expect(full.body).toMatchObject({ code: "no_capacity", capacity: 4, sessions: 4 })

    // DELETE ends one (its client hears sessionEnded) and frees its place
    const [first] = four
    const deleted = await cluster.api(`/sessions/${first!.session.session_id}`, { method: "DELETE" })
    expect(await deleted.json()).toMatchObject({ state: "CLOSED", reason: "stopped" })
    await first!.client.next("sessionEnded", subprocessMs)
    const signalling = await cluster.api(`/sessions/${first!.session.session_id}/transport/webrtc/ice_servers`)
    expect(signalling.status).toBe(410)
    expect(await signalling.json()).toMatchObject({ code: "session_closed", reason: "stopped" })
    const info = await (await cluster.api(`/sessions/${first!.session.session_id}/info`)).json()
    expect(schemas.SessionInfoResponseSchema.safeParse(info).success).toBe(true)
    const again = await open()
    expect(again.session.runner!.id).toBe(first!.session.runner!.id)
  })

  it("a runner killed with SIGKILL: its sessions end runner_lost, the others keep streaming, new sessions go to the survivor and to a runner that joins", async () => {
    const victim = cluster.runners[0]!
    const survivor = cluster.runners[1]!
    const now = await Promise.all(opened.map(async (o) => ({ ...o, session: await get(o.session.session_id) })))
    const lost = now.filter((o) => o.session.state === "ACTIVE" && o.session.runner!.id === victim.id)
    const kept = now.filter((o) => o.session.state === "ACTIVE" && o.session.runner!.id === survivor.id)
    expect([lost.length, kept.length]).toEqual([2, 2])

    victim.child.kill("SIGKILL")
    await victim.exited
    // a socket client of the dead runner sees its socket drop; it asks by the id its socket knows (the runner's, from
    // sessionReady), and is answered its session (never a 404), CLOSED runner_lost once the runner counts as lost
    const asker = lost[0]!
    const known = (asker.client.texts.find((m) => m.type === "sessionReady")!.data as { session_id: string })
      .session_id
    expect(known).not.toBe(asker.session.session_id)
    await asker.client.closed
    const asked: Array<number> = []
    let answer: Session | undefined
    const ended = await eventually(
      async () => {
        const byRunnerId = await cluster.api(`/sessions/${encodeURIComponent(known)}`)
        asked.push(byRunnerId.status)
        answer = await byRunnerId.json() as Session
        const states = await Promise.all(lost.map((o) => get(o.session.session_id)))
        return answer.state === "CLOSED" && states.every((s) => s.state === "CLOSED" && s.reason === "runner_lost")
      },
      subprocessMs,
      200
    )
    expect(ended).toBe(true)
    expect(new Set(asked)).toEqual(new Set([200]))
    expect(answer).toMatchObject({ session_id: asker.session.session_id, state: "CLOSED", reason: "runner_lost" })
    const closed = await get(lost[0]!.session.session_id)
    expect(closed.message).toContain("runner")
    expect(schemas.SessionResponseSchema.safeParse(closed).success).toBe(true)

    // the survivor's clients keep streaming, their sessions stay active
    for (const { client } of kept) await client.waitFrames(5, subprocessMs)
    for (const { session } of kept) expect((await get(session.session_id)).state).toBe("ACTIVE")

    // the survivor is full: no capacity, nothing is placed on the dead runner
    const full = await create()
    expect(full.body).toMatchObject({ code: "no_capacity", capacity: 2 })

    // a runner that joins takes new sessions, nothing restarted
    const fresh = await cluster.addRunner(model, 2)
    const placed = await open()
    expect(placed.session.runner!.id).toBe(fresh.id)
    await placed.client.waitFrames(3, subprocessMs)
  })

  it("a runner given SIGTERM drains: no new sessions there, its session streams on until it ends, then it leaves; the session ends stopped, not runner_lost", async () => {
    const leaving = cluster.runners[2]!
    const mine = opened.at(-1)!
    expect(mine.session.runner!.id).toBe(leaving.id)
    const health = async () =>
      (await (await fetch(`${cluster.coordinator.url}/health`)).json()) as {
        runners: Array<{ id: string; draining: boolean }>
      }
    leaving.child.kill("SIGTERM")
    // asked at once, before the coordinator's next status round: the runner may refuse it (draining), and the
    // coordinator then places it again elsewhere (here nowhere: the survivor is full): the client never sees `draining`
    const raced = await create()
    let outcome = raced.body.code
    if (raced.status === 200) {
      await eventually(async () => (await get(raced.body.session_id)).state !== "PENDING", subprocessMs, 50)
      const settled = await get(raced.body.session_id)
      outcome = settled.state === "ACTIVE" ? "ACTIVE" : settled.reason
      if (settled.state === "ACTIVE") await cluster.api(`/sessions/${raced.body.session_id}`, { method: "DELETE" })
    }
    expect(["no_capacity", "ACTIVE"]).toContain(outcome)
    expect(
      await eventually(
        async () => (await health()).runners.some((r) => r.id === leaving.id && r.draining),
        subprocessMs,
        100
      )
    ).toBe(true)
    // it has room, but drains; the survivor is full
    expect((await create()).body).toMatchObject({ code: "no_capacity" })
    await mine.client.waitFrames(5, subprocessMs)
    expect((await get(mine.session.session_id)).state).toBe("ACTIVE")

    const deleted = await cluster.api(`/sessions/${mine.session.session_id}`, { method: "DELETE" })
    expect(await deleted.json()).toMatchObject({ state: "CLOSED", reason: "stopped" })
    await mine.client.next("sessionEnded", subprocessMs)
    expect(await leaving.exited).toBe(0)
    expect(await eventually(async () => !(await health()).runners.some((r) => r.id === leaving.id), subprocessMs, 200))
      .toBe(true)
    expect(await get(mine.session.session_id)).toMatchObject({ state: "CLOSED", reason: "stopped" })
  })
})
