/**
 * A second viewer of one session with the official SDK unchanged, in Chromium: one page starts the session (its
 * controller); a second page is the same SDK bundle given the watcher base URL `/sessions/{id}/watchers/{key}` as its
 * `apiUrl`. The watcher plays the same video, sees the controller's commands take effect, cannot drive the session
 * itself, and its `disconnect()` leaves the session running.
 */
import { LogLevel } from "effect"
import { rmSync } from "node:fs"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Chromium from "../web/Chromium.js"
import * as Bundle from "./Bundle.js"
import * as Controller from "./Controller.js"
import { near, pixel, type Rgb } from "./VideoPixel.js"

if (!Chromium.run) console.warn(`test/sdk/viewers.test.ts: browser tests skipped: ${Chromium.missing}`)
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

const left = [40, 40] as const

describe.skipIf(!Chromium.run)(
  Chromium.run ? "sdk: a second viewer of one session in Chromium" : `sdk viewers: skipped, ${Chromium.missing}`,
  { timeout: subprocessTestMs },
  () => {
    let server: Server.Handle
    let browser: Browser
    let webRoot: string

    beforeAll(async () => {
      Chromium.ensure()
      webRoot = await Bundle.page()
      server = await Server.listen(
        Fixture.model,
        { host: "127.0.0.1", port: 0, maxSessions: 4, graceMs: 2_000, webRoot },
        undefined,
        logLevel
      )
      browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    })

    afterAll(async () => {
      await browser?.close()
      await server?.close()
      if (webRoot) rmSync(webRoot, { recursive: true, force: true })
    })

    const open = async (query = ""): Promise<Page> => {
      const page = await browser.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      await page.goto(`${server.url}/${query}`)
      await page.waitForFunction(() => (window as any).sdk?.status === "ready", null, { timeout: subprocessMs })
      return page
    }

    const expectColour = (page: Page, wanted: Rgb) =>
      expect.poll(() => pixel(page, left), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Rgb) =>
        near(rgb, wanted)
      )

    const viewers = async (id: string) =>
      ((await (await fetch(`${server.url}/sessions/${id}/info`)).json()) as any).viewers

    it(
      "the watcher plays the session's video and follows the controller; its own commands change nothing",
      async () => {
        const controller = await open()
        const id = (await controller.evaluate(() => (window as any).sdk.sessionId as string | null))!
        const watcher = await open(`?api=/sessions/${id}/watchers/second-tab`)
        expect(await watcher.evaluate(() => (window as any).sdk.sessionId as string | null)).toBe(id)
        await expect.poll(() => viewers(id), { timeout: subprocessMs }).toEqual({ controller: true, watchers: 1 })
        await expectColour(watcher, Fixture.expected(Fixture.initial).left)

        // the controller picks blue: both pages show it
        await controller.getByText("set_color", { exact: true }).waitFor({ timeout: subprocessMs })
        await Controller.expand(controller, "set_color")
        await Controller.panel(controller, "set_color").locator("select").selectOption("blue")
        await Controller.execute(controller, "set_color")
        const blue = Fixture.expected({ ...Fixture.initial, hue: "blue" }).left
        await expectColour(controller, blue)
        await expectColour(watcher, blue)

        // the watcher's ReactorController renders the same commands, but what it sends is refused
        await watcher.getByText("set_color", { exact: true }).waitFor({ timeout: subprocessMs })
        await Controller.expand(watcher, "set_color")
        await Controller.panel(watcher, "set_color").locator("select").selectOption("green")
        await Controller.execute(watcher, "set_color")
        await expect.poll(
          () =>
            watcher.evaluate(() =>
              ((window as any).sdk.runtime as Array<any>).filter((m) => m.type === "error").map((m) => m.data.code)
            ),
          { timeout: subprocessMs }
        ).toContain("watch_only")
        // refused before it reached the model: still blue, and the controller still drives
        expect(near(await pixel(controller, left), blue)).toBe(true)
        await Controller.expand(controller, "reset")
        await Controller.execute(controller, "reset")
        await expectColour(watcher, Fixture.expected(Fixture.initial).left)

        // the watcher leaves: its disconnect does not stop the session
        const leaving = watcher.waitForResponse((response) => response.url().endsWith("/stop_session"))
        await watcher.evaluate(() => (window as any).sdk.disconnect())
        expect(await (await leaving).json()).toMatchObject({ session_id: id, state: "left" })
        await expect.poll(() => viewers(id), { timeout: subprocessMs }).toEqual({ controller: true, watchers: 0 })
        expect(await controller.evaluate(() => (window as any).sdk.status)).toBe("ready")
        await watcher.close()
        await controller.close()
      },
      subprocessTestMs
    )
  }
)
