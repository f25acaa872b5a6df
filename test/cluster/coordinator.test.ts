/**
 * Coordinators as operators run them: two behind one database both serve every session and share admission control
 * (one free place is given once, whichever coordinator is asked); a coordinator killed with SIGKILL and started
 * again loses no running session (they are rows in PostgreSQL; media never went through it); `/metrics` reports the
 * cluster's runners, capacity and sessions; a runner frozen past runner-lost stops the sessions it was reported to
 * have lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { Client, eventually } from "../e2e/helpers.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Cluster from "./Cluster.js"
import * as Postgres from "./Postgres.js"

if (!Postgres.run) console.warn(`test/cluster/coordinator.test.ts: skipped, ${Postgres.missing}`)

interface Session {
  readonly session_id: string
  readonly state: string
  readonly code?: string
  readonly reason?: string
  readonly runner?: { readonly id: string }
  readonly selected_transport?: { readonly url: string }
}

describe.skipIf(!Postgres.run)("cluster: coordinators", { timeout: subprocessTestMs }, () => {
  let cluster: Cluster.Cluster
  let other: Cluster.Coordinator
  const clients: Array<Client> = []
  beforeAll(async () => {
    // listening on every interface: the runner tells clients the cluster host instead of 0.0.0.0
    cluster = await Cluster.start([{
      model: "test/fixtures/web-colors.ts",
      maxSessions: 2,
      args: ["--host", "0.0.0.0", "--cluster-host", "127.0.0.1"]
    }])
    other = await cluster.startCoordinator()
    // its first membership round has listed the runner
    const listed = await eventually(
      async () =>
        ((await (await fetch(`${other.url}/health`)).json()) as { runners: Array<unknown> }).runners.length === 1,
      subprocessMs,
      200
    )
    if (!listed) throw new Error(`the second coordinator never listed the runner:\n${other.output()}`)
  }, subprocessTestMs)
  afterAll(async () => {
    for (const client of clients) client.ws.terminate()
    await Promise.all(clients.map((client) => client.closed))
    await cluster?.stop()
  })

  const call = async (base: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${cluster.token}`, "Content-Type": "application/json" }
    })
    return (await response.json()) as Session
  }
  const create = (base: string) =>
    call(base, "/sessions", {
      method: "POST",
      body: JSON.stringify({
        model: { name: "web-colors" },
        supported_transports: [{ protocol: "websocket", version: "1" }]
      })
    })
  const active = async (base: string, id: string) => {
    await expect.poll(async () => (await call(base, `/sessions/${id}`)).state, { timeout: subprocessMs, interval: 100 })
      .toBe("ACTIVE")
    return call(base, `/sessions/${id}`)
  }
  const connect = async (session: Session) => {
    const client = new Client(new WebSocket(session.selected_transport!.url))
    clients.push(client)
    await client.next("sessionReady", subprocessMs)
    // the liveness ping Reactor's clients send every 5 s (a silent socket is closed after 10 s)
    const ping = setInterval(() => client.ws.readyState === WebSocket.OPEN && client.runtime("ping"), 2_000)
    void client.closed.then(() => clearInterval(ping))
    return client
  }

  let first: { session: Session; client: Client }

  it("two coordinators serve the same sessions and share one admission control", async () => {
    const a = await create(cluster.coordinator.url)
    first = { session: await active(cluster.coordinator.url, a.session_id), client: undefined as never }
    expect(first.session.selected_transport!.url.startsWith(`ws://127.0.0.1:${new URL(cluster.runners[0]!.url).port}/`))
      .toBe(true)
    first.client = await connect(first.session)
    // the other coordinator knows it, and places the second session on the same runner
    expect(await call(other.url, `/sessions/${a.session_id}`)).toMatchObject({ state: "ACTIVE" })
    const b = await create(other.url)
    await connect(await active(other.url, b.session_id))
    // full, whichever is asked
    expect(await create(cluster.coordinator.url)).toMatchObject({ code: "no_capacity" })
    expect(await create(other.url)).toMatchObject({ code: "no_capacity" })

    // one place freed, six asks at once through both: exactly one gets it
    expect(await call(other.url, `/sessions/${b.session_id}`, { method: "DELETE" })).toMatchObject({ state: "CLOSED" })
    const asks = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => create(i % 2 === 0 ? cluster.coordinator.url : other.url))
    )
    expect(asks.filter((s) => s.state === "PENDING").length).toBe(1)
    expect(asks.filter((s) => s.code === "no_capacity").length).toBe(5)
  })

  it("serves the cluster's figures at /metrics (behind the token)", async () => {
    const refused = await fetch(`${cluster.coordinator.url}/metrics`)
    expect(refused.status).toBe(401)
    const text = await (await fetch(`${cluster.coordinator.url}/metrics`, {
      headers: { Authorization: `Bearer ${cluster.token}` }
    })).text()
    const runner = cluster.runners[0]!.id
    expect(text).toContain("reactor_cluster_runners 1")
    expect(text).toContain(`reactor_cluster_runner_capacity{runner="${runner}",model="web-colors"} 2`)
    expect(text).toContain(`reactor_cluster_runner_sessions{runner="${runner}",model="web-colors"} 2`)
    expect(text).toContain(`reactor_cluster_runner_draining{runner="${runner}",model="web-colors"} 0`)
  })

  it("a coordinator killed with SIGKILL and started again loses no running session", async () => {
    cluster.coordinator.child.kill("SIGKILL")
    await cluster.coordinator.exited
    // the session streams on: media never went through the coordinator
    await first.client.waitFrames(5, subprocessMs)
    const again = await cluster.startCoordinator(cluster.coordinator.port)
    expect(await call(again.url, `/sessions/${first.session.session_id}`)).toMatchObject({
      state: "ACTIVE",
      runner: { id: first.session.runner!.id }
    })
    expect(await call(again.url, `/sessions/${first.session.session_id}`, { method: "DELETE" })).toMatchObject({
      state: "CLOSED",
      reason: "stopped"
    })
    await first.client.next("sessionEnded", subprocessMs)
  })

  it("a runner frozen past runner-lost (SIGSTOP): the coordinator reports its session runner_lost, and once it runs again it stops that session itself", async () => {
    const created = await create(cluster.coordinator.url)
    const session = await active(cluster.coordinator.url, created.session_id)
    const client = await connect(session)
    const runner = cluster.runners[0]!
    runner.child.kill("SIGSTOP")
    try {
      await expect.poll(
        async () => (await call(cluster.coordinator.url, `/sessions/${session.session_id}`)).reason,
        { timeout: subprocessMs, interval: 200 }
      ).toBe("runner_lost")
    } finally {
      runner.child.kill("SIGCONT")
    }
    const ended = await client.next("sessionEnded", subprocessMs)
    expect(JSON.stringify(ended.data)).toContain("runner lost")
    // back in the cluster (listed again at the coordinator's next round), it takes sessions again
    await expect.poll(
      async () =>
        ((await (await fetch(`${cluster.coordinator.url}/health`)).json()) as { runners: Array<{ id: string }> })
          .runners.some((r) => r.id === runner.id),
      { timeout: subprocessMs, interval: 200 }
    ).toBe(true)
    const again = await create(cluster.coordinator.url)
    expect((await active(cluster.coordinator.url, again.session_id)).runner!.id).toBe(runner.id)
  })
})
