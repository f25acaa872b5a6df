/**
 * A runner whose HTTP API is protected (`reactor run --token`) behind a coordinator started with the same token
 * (`reactor coordinator --runner-token`): the coordinator's relays (WebRTC signalling, upload slots, info) carry the
 * token; its clients never see it, their WebSocket URL carries a ticket that opens that one session only. A
 * coordinator without the token says what to fix instead of relaying the runner's bare 401. The official SDK in
 * Chromium (its page from a plain static server: the runner's own pages are behind the token) gets a live session
 * on the protected runner.
 */
import { readFileSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { join } from "node:path"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { Client, eventually } from "../e2e/helpers.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Bundle from "../sdk/Bundle.js"
import * as Controller from "../sdk/Controller.js"
import { near, pixel, type Rgb } from "../sdk/VideoPixel.js"
import * as Chromium from "../web/Chromium.js"
import * as Cluster from "./Cluster.js"
import * as Postgres from "./Postgres.js"

if (!Postgres.run) console.warn(`test/cluster/token.test.ts: skipped, ${Postgres.missing}`)

const model = "test/fixtures/web-colors.ts"
const runnerToken = "runner-token-0123456789"

interface Session {
  readonly session_id: string
  readonly state: string
  readonly code?: string
  readonly message?: string
  readonly selected_transport?: { readonly protocol: string; readonly url: string }
}

describe.skipIf(!Postgres.run)("cluster: a runner protected by --token behind the coordinator", {
  timeout: subprocessTestMs
}, () => {
  let cluster: Cluster.Cluster
  const clients: Array<Client> = []
  beforeAll(async () => {
    cluster = await Cluster.start([{ model, maxSessions: 4, args: ["--token", runnerToken] }], {
      coordinatorArgs: ["--runner-token", runnerToken]
    })
  }, subprocessTestMs)
  afterAll(async () => {
    for (const client of clients) client.ws.terminate()
    await Promise.all(clients.map((client) => client.closed))
    await cluster?.stop()
  })

  const runner = () => cluster.runners[0]!
  /** Creates a session at `coordinatorUrl` (the first coordinator by default) and waits until it is not pending. */
  const started = async (coordinatorUrl = cluster.coordinator.url): Promise<Session> => {
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${coordinatorUrl}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${cluster.token}`, "Content-Type": "application/json" }
      })
    const created = await api("/sessions", {
      method: "POST",
      body: JSON.stringify({
        model: { name: "web-colors" },
        supported_transports: [{ protocol: "websocket", version: "1" }]
      })
    })
    const body = await created.json() as Session
    expect(created.status, JSON.stringify(body)).toBe(200)
    let session: Session = body
    await eventually(
      async () => {
        session = await (await api(`/sessions/${body.session_id}`)).json() as Session
        return session.state !== "PENDING"
      },
      subprocessMs,
      100
    )
    expect(session.state, JSON.stringify(session)).toBe("ACTIVE")
    return session
  }
  const connect = async (url: string) => {
    const client = new Client(new WebSocket(url))
    clients.push(client)
    return client
  }
  const ping = (client: Client) => {
    const timer = setInterval(() => client.ws.readyState === WebSocket.OPEN && client.runtime("ping"), 2_000)
    void client.closed.then(() => clearInterval(timer))
  }

  it("the runner refuses requests without its token; through the coordinator a session starts, its socket URL carries a ticket of that session (not the token), frames flow and commands apply", async () => {
    const bare = await fetch(`${runner().url}/health`)
    expect(bare.status).toBe(401)
    expect(await bare.json()).toMatchObject({ code: "unauthorized" })

    const session = await started()
    const url = new URL(session.selected_transport!.url)
    const ticket = url.searchParams.get("token")
    expect(ticket).toBeTruthy()
    expect(ticket).not.toBe(runnerToken)
    expect(session.selected_transport!.url).not.toContain(runnerToken)

    const client = await connect(url.toString())
    await client.next("sessionReady", subprocessMs)
    ping(client)
    await client.waitFrames(3, subprocessMs)
    client.command("reset", {})
    expect(await client.next((m) => m.scope === "application", subprocessMs)).toMatchObject({ type: "reset" })

    // without the ticket, or with another session's ticket, the runner refuses the socket
    const other = await started()
    const otherUrl = new URL(other.selected_transport!.url)
    otherUrl.searchParams.set("token", ticket!)
    const borrowed = await connect(otherUrl.toString())
    expect((await borrowed.closed).code).toBe(4401)
    otherUrl.searchParams.delete("token")
    const none = await connect(otherUrl.toString())
    expect((await none.closed).code).toBe(4401)
    // its own ticket opens it
    otherUrl.searchParams.set("token", new URL(other.selected_transport!.url).searchParams.get("token")!)
    const own = await connect(otherUrl.toString())
    await own.next("sessionReady", subprocessMs)
    await own.waitFrames(2, subprocessMs)
    // a ticket opens sockets only: the runner's HTTP API still wants the token
    const info = await fetch(
      `${runner().url}${url.pathname.replace(/\/transport\/websocket$/, "/info")}?token=${ticket}`
    )
    expect(info.status).toBe(401)
  })

  it("signalling, upload slots and info are relayed to the protected runner with its token", async () => {
    const session = await started()
    const ice = await cluster.api(`/sessions/${session.session_id}/transport/webrtc/ice_servers`)
    expect(ice.status).toBe(200)
    expect(await ice.json()).toHaveProperty("ice_servers")
    const slot = await cluster.api(`/sessions/${session.session_id}/uploads`, {
      method: "POST",
      body: JSON.stringify({ name: "a.png", size: 10, mime_type: "image/png" })
    })
    // what the runner itself answers its token's holder
    const runnerSessionId = /\/sessions\/([^/]+)\//.exec(session.selected_transport!.url)![1]
    const direct = await fetch(`${runner().url}/sessions/${runnerSessionId}/uploads`, {
      method: "POST",
      headers: { Authorization: `Bearer ${runnerToken}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "a.png", size: 10, mime_type: "image/png" })
    })
    expect(direct.status).not.toBe(401)
    expect(slot.status).toBe(direct.status)
    const info = await (await cluster.api(`/sessions/${session.session_id}/info`)).json() as { stats?: unknown }
    expect(info.stats).toBeDefined()
    await cluster.api(`/sessions/${session.session_id}`, { method: "DELETE" })
  })

  it("a coordinator started without --runner-token warns when it sees a protected runner, and answers runner_unauthorized, saying what to set", async () => {
    const open = await cluster.startCoordinator(undefined, [])
    // its first membership round lists the runner (before it, the runner is not up for it: no_runner)
    expect(
      await eventually(
        async () => ((await (await fetch(`${open.url}/health`)).json()) as { runners: [] }).runners.length > 0,
        subprocessMs,
        100
      )
    ).toBe(true)
    // placement and start go over the cluster (its secret): the session starts
    const session = await started(open.url)
    expect(new URL(session.selected_transport!.url).searchParams.has("token")).toBe(false)
    const ice = await fetch(`${open.url}/sessions/${session.session_id}/transport/webrtc/ice_servers`, {
      headers: { Authorization: `Bearer ${cluster.token}` }
    })
    expect(ice.status).toBe(502)
    expect(await ice.json()).toMatchObject({
      code: "runner_unauthorized",
      message: expect.stringContaining("--runner-token")
    })
    // and it said so in its log as soon as it saw the runner
    expect(open.output()).toContain("is protected by a token, and this coordinator has none")
    expect(cluster.coordinator.output()).not.toContain("is protected by a token")
    open.child.kill("SIGKILL")
    await open.exited
    await cluster.api(`/sessions/${session.session_id}`, { method: "DELETE" })
  })

  describe.skipIf(!Chromium.run)("the official SDK in Chromium", () => {
    let browser: Browser
    let webRoot: string
    let pages: Server
    beforeAll(async () => {
      Chromium.ensure()
      webRoot = await Bundle.page()
      // the page from a static server of its own: the runner's pages are behind its token
      pages = createServer((request, response) => {
        const file = request.url?.startsWith("/sdk-page.js") ? "sdk-page.js" : "index.html"
        response.writeHead(200, { "Content-Type": file.endsWith(".js") ? "text/javascript" : "text/html" })
        response.end(readFileSync(join(webRoot, file)))
      })
      await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve))
      browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    }, subprocessTestMs)
    afterAll(async () => {
      await browser?.close()
      await new Promise((resolve) => pages?.close(resolve))
      if (webRoot) rmSync(webRoot, { recursive: true, force: true })
    })

    it("reaches ready on the protected runner, plays its video, and a command reaches the model", async () => {
      const page = await browser.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      const query = new URLSearchParams({ coordinator: cluster.coordinator.url, jwt: cluster.token })
      await page.goto(`http://127.0.0.1:${(pages.address() as { port: number }).port}/?${query}`)
      await page.waitForFunction(
        () => (window as unknown as { sdk: { status: string } }).sdk?.status === "ready",
        null,
        {
          timeout: subprocessMs
        }
      )
      await expect.poll(() => pixel(page, [40, 40]), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Rgb) =>
        near(rgb, Fixture.expected(Fixture.initial).left)
      )
      await Controller.expand(page, "set_color")
      await Controller.panel(page, "set_color").locator("select").selectOption("blue")
      await Controller.execute(page, "set_color")
      await expect.poll(() => pixel(page, [40, 40]), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Rgb) =>
        near(rgb, Fixture.expected({ ...Fixture.initial, hue: "blue" }).left)
      )
      await page.close()
    })
  })
})
