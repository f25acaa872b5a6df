/**
 * The browser page in real headless Chromium against the real server, serving a fixture model whose regions show
 * what it received (test/fixtures/web-colors.ts). Assertions read the canvas pixels and the page's test hook
 * (`window.reactorPage`).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Chromium from "./Chromium.js"

const suiteName = Chromium.run ? "browser page (Chromium)" : `browser page: skipped, ${Chromium.missing}`
if (!Chromium.run) console.warn(`test/web/page.test.ts: browser tests skipped: ${Chromium.missing}`)

/** What `window.reactorPage` holds (src/web/app.js). */
interface Hook {
  readonly sessionId: string | null
  readonly status: string
  readonly resumed: boolean
  readonly framesReceived: number
  readonly framesDrawn: number
  readonly lastFrameIndex: number
  readonly lastDrawnIndex: number
  readonly socketsOpened: number
  readonly commands: ReadonlyArray<string>
  readonly sent: ReadonlyArray<
    { readonly id: string; readonly command: string; readonly payload: Record<string, unknown> }
  >
  readonly acks: ReadonlyArray<{ readonly id: string; readonly command: string; readonly frame: number }>
  readonly errors: ReadonlyArray<
    { readonly code: string; readonly message: string; readonly command: string | null; readonly param: string | null }
  >
  readonly stats: { readonly fps: number; readonly dropped: number } | null
  readonly latencyMs: number | null
  readonly endReason: string | null
  readonly dropConnection: () => void
}

declare global {
  interface Window {
    reactorPage: Hook
  }
}

type Rgb = ReadonlyArray<number>

/** Where each region of the fixture's 160x90 frame is sampled. */
const at = { left: [40, 40], topRight: [120, 20], middleRight: [120, 60] } as const

describe.skipIf(!Chromium.run)(suiteName, { timeout: subprocessTestMs }, () => {
  let server: Server.Handle
  let context: BrowserContext
  let profile: string

  beforeAll(async () => {
    Chromium.ensure()
    const { chromium } = await import("playwright-core")
    server = await Server.listen(Fixture.model, { host: "127.0.0.1", port: 0, maxSessions: 16, graceMs: 5_000 })
    profile = mkdtempSync(join(tmpdir(), "reactor-page-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: Chromium.path,
      headless: true,
      viewport: { width: 1280, height: 820 },
      args: Chromium.args("--disable-quic")
    })
  })

  afterAll(async () => {
    // The server first, so its sessions end with the pages still connected (no orphan grace to wait out).
    await server?.close()
    await context?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
  })

  /** A fresh tab on the page, live and drawing frames. */
  const open = async (query = ""): Promise<Page> => {
    const page = await context.newPage()
    page.on("pageerror", (error) => console.error("page error:", error))
    await page.goto(`${server.url}/${query}`)
    await live(page)
    return page
  }

  const live = async (page: Page) => {
    await page.waitForFunction(
      () => window.reactorPage?.status === "live" && window.reactorPage.framesDrawn > 0,
      null,
      {
        timeout: subprocessMs
      }
    )
  }

  /** Opens the page in a tab whose sessionStorage names a session, as a duplicated tab's would. */
  const withStoredSession = async (page: Page, sessionId: string) => {
    // Another page of the same origin, so the app does not start a session of its own meanwhile.
    await page.goto(`${server.url}/health`)
    await page.evaluate((id) => sessionStorage.setItem("effect-reactor.session", id), sessionId)
    await page.goto(`${server.url}/`)
  }

  const hook = (page: Page): Promise<Hook> => page.evaluate(() => JSON.parse(JSON.stringify(window.reactorPage)))

  const pixel = (page: Page, [x, y]: readonly [number, number]): Promise<Rgb> =>
    page.evaluate(([x, y]) => {
      const canvas = document.getElementById("video") as HTMLCanvasElement
      return Array.from(canvas.getContext("2d")!.getImageData(x!, y!, 1, 1).data.slice(0, 3))
    }, [x, y])

  /** Colours match within JPEG's error. */
  const near = (actual: Rgb, wanted: Rgb, tolerance = 28) =>
    actual.every((v, i) => Math.abs(v - wanted[i]!) <= tolerance)

  const expectColour = (page: Page, where: readonly [number, number], wanted: Rgb, tolerance?: number) =>
    expect.poll(() => pixel(page, where), { timeout: subprocessMs, interval: 50 }).toSatisfy((rgb: Rgb) =>
      near(rgb, wanted, tolerance)
    )

  const field = (page: Page, command: string, param: string) =>
    page.locator(`[data-command="${command}"][data-param="${param}"]`)

  const errorOf = (page: Page, command: string, param: string) =>
    page.locator(`details[data-command="${command}"] .field:has([data-param="${param}"]) > .error`)

  it("loads, draws frames that change, and renders a control per parameter with its default", async () => {
    const page = await open()
    const first = await hook(page)
    expect(first.sessionId).toMatch(/^[\w-]{16,}$/)
    expect(first.commands).toEqual([
      "set_color",
      "set_brightness",
      "set_invert",
      "set_label",
      "set_count",
      "move",
      "reset"
    ])

    // Frames keep arriving, and the moving bar makes consecutive frames differ.
    const row = () =>
      page.evaluate(() => {
        const canvas = document.getElementById("video") as HTMLCanvasElement
        return Array.from(canvas.getContext("2d")!.getImageData(0, 85, 160, 1).data).join(",")
      })
    const before = await row()
    await expect.poll(row, { timeout: subprocessMs }).not.toBe(before)
    await expect.poll(async () => (await hook(page)).lastFrameIndex).toBeGreaterThan(first.lastFrameIndex + 5)
    await expect.poll(async () => (await hook(page)).stats?.fps ?? 0, { timeout: subprocessMs }).toBeGreaterThan(0)

    // Reactor's rules: enum -> select, bounded number -> slider, boolean -> checkbox, string -> text + send,
    // half-bounded integer -> number input, no parameters -> button, key bindings listed.
    expect(await field(page, "set_color", "hue").evaluate((e) => e.tagName)).toBe("SELECT")
    expect(await field(page, "set_color", "hue").inputValue()).toBe("red")
    expect(await field(page, "set_brightness", "level").getAttribute("type")).toBe("range")
    expect(await field(page, "set_brightness", "level").inputValue()).toBe("0.5")
    expect(await field(page, "set_invert", "invert").getAttribute("type")).toBe("checkbox")
    expect(await field(page, "set_label", "label").getAttribute("type")).toBe("text")
    expect(await page.locator(`details[data-command="set_label"] button[data-send="label"]`).count()).toBe(1)
    expect(await field(page, "set_count", "count").getAttribute("type")).toBe("number")
    expect(await field(page, "set_count", "count").inputValue()).toBe("0")
    expect(await page.locator(`details[data-command="reset"] button`).textContent()).toContain("reset")
    expect(await page.locator(`details[data-command="move"] kbd`).allTextContents()).toEqual(["W", "S"])
    expect(await page.locator(`details[data-command="set_color"] .description`).textContent()).toBe(
      "The colour of the left half"
    )
    await expectColour(page, at.left, [128, 0, 0])
    await page.close()
  })

  it("choosing an option, moving a slider, ticking a box and sending text change what the model renders", async () => {
    const page = await open()
    await field(page, "set_color", "hue").selectOption("blue")
    await expectColour(page, at.left, [0, 0, 128])

    // Dragging the slider sends as it moves (at most once per animation frame), not only when it is let go.
    const slider = await field(page, "set_brightness", "level").boundingBox()
    await page.mouse.move(slider!.x + slider!.width / 2, slider!.y + slider!.height / 2)
    await page.mouse.down()
    for (let step = 1; step <= 10; step++) {
      await page.mouse.move(slider!.x + slider!.width * (0.5 - step * 0.05), slider!.y + slider!.height / 2)
      await page.waitForTimeout(30)
    }
    const whileDragging = (await hook(page)).sent.filter((s) => s.command === "set_brightness")
    expect(whileDragging.length).toBeGreaterThan(2)
    expect(new Set(whileDragging.map((s) => s.id)).size).toBe(whileDragging.length)
    await page.mouse.up()
    await expectColour(page, at.left, [0, 0, 0])

    await field(page, "set_brightness", "level").fill("1")
    await expectColour(page, at.left, [0, 0, 255])
    expect(await page.locator(`details[data-command="set_brightness"] .value`).textContent()).toBe("1.00")

    await field(page, "set_invert", "invert").check()
    await expectColour(page, at.left, [255, 255, 0])

    await field(page, "set_label", "label").fill("abc")
    await field(page, "set_label", "label").press("Enter")
    await expectColour(page, at.topRight, [90, 90, 0])

    await field(page, "set_count", "count").fill("4")
    await field(page, "set_count", "count").press("Enter")
    await expectColour(page, at.topRight, [90, 90, 100])

    const state = await hook(page)
    const sent = state.sent.map((s) => s.command)
    expect(sent).toEqual(
      expect.arrayContaining(["set_color", "set_brightness", "set_invert", "set_label", "set_count"])
    )
    for (const s of state.sent) expect(s.id).toBeTruthy()
    expect(state.acks.map((a) => a.id)).toEqual(expect.arrayContaining(state.sent.map((s) => s.id)))
    expect(state.errors).toEqual([])
    await expect.poll(async () => (await hook(page)).latencyMs).not.toBeNull()

    await page.locator(`details[data-command="reset"] button`).click()
    await expectColour(page, at.left, [128, 0, 0])
    await page.close()
  })

  it("shows the runtime's error beside the control that caused it, and clears it once a value is accepted", async () => {
    const page = await open()
    await field(page, "set_count", "count").fill("-3")
    await field(page, "set_count", "count").press("Enter")
    await expect.poll(() => errorOf(page, "set_count", "count").textContent()).toContain("non-negative")

    await field(page, "set_label", "label").fill("far too long")
    await page.locator(`details[data-command="set_label"] button[data-send="label"]`).click()
    await expect.poll(() => errorOf(page, "set_label", "label").textContent()).toContain("at most 8")

    const { errors } = await hook(page)
    expect(errors.map((e) => [e.code, e.command, e.param])).toEqual([
      ["invalid_payload", "set_count", "count"],
      ["invalid_payload", "set_label", "label"]
    ])
    // Only the faulty controls are marked.
    expect(await page.locator(".field.invalid").count()).toBe(2)
    expect(await errorOf(page, "set_color", "hue").textContent()).toBe("")

    await field(page, "set_count", "count").fill("2")
    await field(page, "set_count", "count").press("Enter")
    await expect.poll(() => errorOf(page, "set_count", "count").textContent()).toBe("")
    await expectColour(page, at.topRight, [0, 0, 50])
    await page.close()
  })

  it("sends a command's key payloads while its keys are held and its release payload after, not while typing", async () => {
    const page = await open()
    await page.locator("#video").click()
    await page.keyboard.down("w")
    await expectColour(page, at.middleRight, [255, 255, 0])
    expect(await page.locator(`kbd[data-key="w"]`).getAttribute("class")).toContain("down")
    // A second key held, then released: the first one's payload applies again.
    await page.keyboard.down("s")
    await expectColour(page, at.middleRight, [0, 255, 255])
    await page.keyboard.up("s")
    await expectColour(page, at.middleRight, [255, 255, 0])
    await page.keyboard.up("w")
    await expectColour(page, at.middleRight, [64, 64, 64])
    const moves = (await hook(page)).sent.filter((s) => s.command === "move").map((s) => s.payload)
    expect(moves).toEqual([{ direction: "up" }, { direction: "down" }, { direction: "up" }, { direction: "none" }])
    // The panel's select follows the keys.
    expect(await field(page, "move", "direction").inputValue()).toBe("none")

    // Typing a bound key into a text field is typing, not a command.
    await field(page, "set_label", "label").click()
    await page.keyboard.type("ws")
    expect((await hook(page)).sent.filter((s) => s.command === "move")).toHaveLength(4)
    expect(await field(page, "set_label", "label").inputValue()).toBe("ws")
    await page.close()
  })

  it("resumes the same session with its state after a reload, and after a dropped connection", async () => {
    const page = await open()
    await field(page, "set_color", "hue").selectOption("green")
    await field(page, "set_brightness", "level").fill("1")
    await expectColour(page, at.left, [0, 255, 0])
    const { sessionId } = await hook(page)

    await page.reload()
    await live(page)
    const resumed = await hook(page)
    expect(resumed.sessionId).toBe(sessionId)
    expect(resumed.resumed).toBe(true)
    await expectColour(page, at.left, [0, 255, 0])
    // The controls show what the session holds, not the defaults.
    expect(await field(page, "set_color", "hue").inputValue()).toBe("green")
    expect(await field(page, "set_brightness", "level").inputValue()).toBe("1")

    // A dropped socket reconnects with backoff to the same session.
    const framesBefore = resumed.framesReceived
    await page.evaluate(() => window.reactorPage.dropConnection())
    await expect.poll(async () => (await hook(page)).socketsOpened, { timeout: subprocessMs }).toBe(2)
    await live(page)
    await expect.poll(async () => (await hook(page)).framesReceived).toBeGreaterThan(framesBefore + 3)
    const after = await hook(page)
    expect([after.sessionId, after.resumed]).toEqual([sessionId, true])
    await expectColour(page, at.left, [0, 255, 0])
    await page.close()
  })

  it("gives way when another tab takes the session over, and takes it back on request", async () => {
    const first = await open()
    const { sessionId } = await hook(first)
    const second = await context.newPage()
    await withStoredSession(second, sessionId!)
    await live(second)
    expect((await hook(second)).sessionId).toBe(sessionId)
    await expect.poll(() => first.locator("#status").textContent()).toBe("taken over")
    // It does not fight back by itself.
    await first.waitForTimeout(500)
    expect((await hook(first)).socketsOpened).toBe(1)
    await first.locator("#notice button").click()
    await live(first)
    await expect.poll(() => second.locator("#status").textContent()).toBe("taken over")
    await Promise.all([first.close(), second.close()])
  })

  it("starts a new session when the stored one is gone, stops on request, and starts again", async () => {
    const page = await context.newPage()
    await withStoredSession(page, "no-such-session")
    await live(page)
    const fresh = await hook(page)
    expect(fresh.sessionId).not.toBe("no-such-session")
    await field(page, "set_color", "hue").selectOption("blue")
    await expectColour(page, at.left, [0, 0, 128])

    await page.locator("#stop").click()
    await expect.poll(async () => (await hook(page)).status).toBe("ended")
    expect((await hook(page)).endReason).toBe("stopped")
    expect(await page.evaluate(() => sessionStorage.getItem("effect-reactor.session"))).toBeNull()
    expect(await page.locator("#overlay").textContent()).toContain("Session ended")
    const info = await fetch(`${server.url}/sessions/${fresh.sessionId}/info`)
    expect(info.status).toBe(404)

    await page.locator("#restart").click()
    await expect.poll(async () => (await hook(page)).sessionId).not.toBe(fresh.sessionId)
    await live(page)
    // A new session starts from the defaults, and so do the controls.
    await expectColour(page, at.left, [128, 0, 0])
    expect(await field(page, "set_color", "hue").inputValue()).toBe("red")
    await field(page, "set_color", "hue").selectOption("green")
    await expectColour(page, at.left, [0, 128, 0])
    await page.close()
  })

  it("works behind a token given in the page URL (assets, modules, API and WebSocket)", async () => {
    const guarded = await Server.listen(Fixture.model, { host: "127.0.0.1", port: 0, token: "s3cret", graceMs: 1_000 })
    try {
      expect((await fetch(`${guarded.url}/app.js`)).status).toBe(401)
      const page = await context.newPage()
      await page.goto(`${guarded.url}/?token=s3cret`)
      await live(page)
      await field(page, "set_color", "hue").selectOption("blue")
      await expectColour(page, at.left, [0, 0, 128])
      expect((await hook(page)).errors).toEqual([])
      await page.close()
    } finally {
      await guarded.close()
    }
  })

  it("drives the example world model: its controls render and held keys walk through the maze", async () => {
    const { model: world } = await import("../../examples/02-world.js")
    const worldServer = await Server.listen(world, { host: "127.0.0.1", port: 0, graceMs: 1_000 })
    try {
      const page = await context.newPage()
      await page.goto(`${worldServer.url}/`)
      await live(page)
      expect((await hook(page)).commands).toEqual(["move", "set_camera", "reset"])
      expect(await field(page, "set_camera", "speed").getAttribute("type")).toBe("range")
      expect(await page.locator(`details[data-command="move"] kbd`).count()).toBeGreaterThanOrEqual(8)
      const snapshot = () => page.evaluate(() => (document.getElementById("video") as HTMLCanvasElement).toDataURL())
      const before = await snapshot()
      await page.locator("#video").click()
      await page.keyboard.down("w")
      await expect.poll(snapshot, { timeout: subprocessMs }).not.toBe(before)
      await page.keyboard.up("w")
      await expect.poll(async () => (await hook(page)).acks.filter((a) => a.command === "move").length).toBe(2)
      const moves = (await hook(page)).sent.filter((s) => s.command === "move").map((s) => s.payload)
      expect(moves).toEqual([{ direction: "forward" }, { direction: "none" }])
      expect((await hook(page)).errors).toEqual([])
      await page.close()
    } finally {
      await worldServer.close()
    }
  })

  it("draws raw RGB frames too (?format=rgb), and looks right", async () => {
    const page = await open("?format=rgb")
    await field(page, "set_color", "hue").selectOption("green")
    await field(page, "set_brightness", "level").fill("0.8")
    // Raw frames are exact.
    await expectColour(page, at.left, [0, 204, 0], 1)
    await field(page, "set_label", "label").fill("hello")
    await field(page, "set_label", "label").press("Enter")
    await expectColour(page, at.topRight, [150, 150, 0], 1)
    await field(page, "set_count", "count").fill("-1")
    await field(page, "set_count", "count").press("Enter")
    await expect.poll(() => errorOf(page, "set_count", "count").textContent()).toContain("non-negative")
    await page.locator("#video").click()
    await page.keyboard.down("w")
    await expectColour(page, at.middleRight, [255, 255, 0], 1)
    await page.waitForTimeout(1_200) // one stats message with the latency
    await page.setViewportSize({ width: 1280, height: 1180 })
    await page.locator("#video").click()
    await page.locator(".controls-column").evaluate((column) => column.scrollTo(0, 0))
    mkdirSync("test-artifacts", { recursive: true })
    await page.screenshot({ path: "test-artifacts/page.png" })
    await page.keyboard.up("w")
    await page.close()
  })
})
