/**
 * The official SDK (`@reactor-team/js-sdk` 2.9.0, bundled unchanged) in Chromium, out of local mode: `apiUrl` at the
 * coordinator, a JWT, the coordinator placing the session on one of three runners. The SDK creates the session
 * (`POST /sessions`), polls it until it is `ACTIVE`, signals WebRTC through the coordinator (relayed to the runner),
 * then plays the video straight from the runner; `ReactorController`'s commands reach the model. A runner killed
 * with SIGKILL: the SDK disconnects, and the coordinator reports its session `runner_lost`. Three runners of one
 * place each: three SDKs land on three runners.
 */
import { rmSync } from "node:fs"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Bundle from "../sdk/Bundle.js"
import * as Controller from "../sdk/Controller.js"
import { near, pixel, type Rgb } from "../sdk/VideoPixel.js"
import * as Chromium from "../web/Chromium.js"
import * as Cluster from "./Cluster.js"
import * as Postgres from "./Postgres.js"

const runs = Postgres.run && Chromium.run
if (!runs) console.warn(`test/cluster/sdk.test.ts: skipped, ${Postgres.run ? Chromium.missing : Postgres.missing}`)

interface Probe {
  readonly status: string
  readonly sessionId: string | null
  readonly disconnect: (() => Promise<void>) | null
}
/** The page's window with the probe (test/sdk/page/main.js); not declared globally, test/sdk declares its own. */
type Probed = Window & { readonly sdk: Probe }

describe.skipIf(!runs)("cluster: the official SDK in Chromium, apiUrl at the coordinator", {
  timeout: subprocessTestMs
}, () => {
  let cluster: Cluster.Cluster
  let browser: Browser
  let webRoot: string
  beforeAll(async () => {
    Chromium.ensure()
    Postgres.ensure()
    webRoot = await Bundle.page()
    const runner = { model: "test/fixtures/web-colors.ts", maxSessions: 1 }
    cluster = await Cluster.start([runner, runner, runner], { webRoot })
    browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
  }, subprocessTestMs)
  afterAll(async () => {
    await browser?.close()
    await cluster?.stop()
    if (webRoot) rmSync(webRoot, { recursive: true, force: true })
  })

  /** The page, from a runner's web root (any origin will do: the coordinator answers CORS), the SDK at `ready`. */
  const open = async (): Promise<Page> => {
    const page = await browser.newPage()
    page.on("pageerror", (error) => console.error("page error:", error))
    const query = new URLSearchParams({ coordinator: cluster.coordinator.url, jwt: cluster.token })
    await page.goto(`${cluster.runners[0]!.url}/?${query}`)
    await page.waitForFunction(() => (window as Probed).sdk?.status === "ready", null, { timeout: subprocessMs })
    return page
  }

  let first: Page
  let second: Page

  it("reaches ready through the coordinator, plays the runner's video, and ReactorController's commands reach the model", async () => {
    first = await open()
    const time = () => first.evaluate(() => document.querySelector("video")!.currentTime)
    const start = await time()
    await expect.poll(time, { timeout: subprocessMs }).toBeGreaterThan(start)
    await expect.poll(() => pixel(first, [40, 40]), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Rgb) =>
      near(rgb, Fixture.expected(Fixture.initial).left)
    )
    await Controller.expand(first, "set_color")
    await Controller.panel(first, "set_color").locator("select").selectOption("blue")
    await Controller.execute(first, "set_color")
    await expect.poll(() => pixel(first, [40, 40]), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Rgb) =>
      near(rgb, Fixture.expected({ ...Fixture.initial, hue: "blue" }).left)
    )
    const id = await first.evaluate(() => (window as Probed).sdk.sessionId)
    const session = await (await cluster.api(`/sessions/${id}`)).json() as { state: string; runner: { id: string } }
    expect(session.state).toBe("ACTIVE")
  })

  it("the next SDKs land on the other runners; one more is refused no_capacity; killing a runner disconnects its SDK and reports runner_lost", async () => {
    second = await open()
    const third = await open()
    const ids = await Promise.all(
      [first, second, third].map((page) => page.evaluate(() => (window as Probed).sdk.sessionId))
    )
    const sessions = await Promise.all(
      ids.map(async (id) => (await (await cluster.api(`/sessions/${id}`)).json()) as { runner: { id: string } })
    )
    expect(new Set(sessions.map((s) => s.runner.id)).size).toBe(3)

    const fourth = await browser.newPage()
    const query = new URLSearchParams({ coordinator: cluster.coordinator.url, jwt: cluster.token })
    await fourth.goto(`${cluster.runners[0]!.url}/?${query}`)
    await fourth.waitForFunction(() => (window as Probed).sdk?.status === "disconnected", null, {
      timeout: subprocessMs
    })
    const full = await cluster.api("/sessions", {
      method: "POST",
      body: JSON.stringify({ model: { name: "web-colors" } })
    })
    expect(await full.json()).toMatchObject({ code: "no_capacity" })
    await fourth.close()
    await third.close()

    // kill the runner of the second page's session
    const victim = cluster.runners.find((r) => r.id === sessions[1]!.runner.id)!
    victim.child.kill("SIGKILL")
    await second.waitForFunction(() => (window as Probed).sdk.status === "disconnected", null, {
      timeout: subprocessMs
    })
    await expect.poll(
      async () => (await (await cluster.api(`/sessions/${ids[1]}`)).json() as { reason?: string }).reason,
      { timeout: subprocessMs, interval: 200 }
    ).toBe("runner_lost")
    // the first keeps playing
    expect(await first.evaluate(() => (window as Probed).sdk.status)).toBe("ready")
    const time = () => first.evaluate(() => document.querySelector("video")!.currentTime)
    const now = await time()
    await expect.poll(time, { timeout: subprocessMs }).toBeGreaterThan(now)
  })

  it("the SDK's disconnect() ends its session through the coordinator (DELETE /sessions/{id})", async () => {
    const id = await first.evaluate(() => (window as Probed).sdk.sessionId)
    await first.evaluate(() => (window as Probed).sdk.disconnect!())
    await expect.poll(
      async () => (await (await cluster.api(`/sessions/${id}`)).json() as { state: string; reason?: string }),
      { timeout: subprocessMs, interval: 200 }
    ).toMatchObject({ state: "CLOSED", reason: "stopped" })
  })
})
