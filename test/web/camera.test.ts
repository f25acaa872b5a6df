/**
 * The page's camera, in real Chromium with its fake camera: for a model that declares a video input the page offers
 * the camera, and its frames reach the model (`ctx.input`) over the WebSocket as binary input frames; for a model
 * without inputs the button stays hidden.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { BrowserContext } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as InputFixture from "../fixtures/input-model.js"
import * as Fixture from "../fixtures/web-colors.js"
import * as Chromium from "./Chromium.js"

describe.runIf(Chromium.run)(
  "page: the camera as a model's input track (Chromium)",
  { timeout: subprocessTestMs },
  () => {
    let withInputs: Server.Handle
    let without: Server.Handle
    let context: BrowserContext
    let profile: string

    beforeAll(async () => {
      Chromium.ensure()
      const { chromium } = await import("playwright-core")
      withInputs = await Server.listen(InputFixture.model, { host: "127.0.0.1", port: 0, maxSessions: 4 })
      without = await Server.listen(Fixture.model, { host: "127.0.0.1", port: 0, maxSessions: 4 })
      profile = mkdtempSync(join(tmpdir(), "reactor-camera-"))
      context = await chromium.launchPersistentContext(profile, {
        executablePath: Chromium.path,
        headless: true,
        args: Chromium.args("--disable-quic", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
      })
    }, subprocessTestMs)

    afterAll(async () => {
      await withInputs?.close()
      await without?.close()
      await context?.close()
      if (profile) rmSync(profile, { recursive: true, force: true })
    })

    it("offers the camera, and its frames reach the model, which answers with frames", async () => {
      await context.grantPermissions(["camera"], { origin: withInputs.url })
      const page = await context.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      await page.goto(`${withInputs.url}/`)
      await page.waitForFunction(() => (window as any).reactorPage?.status === "live", null, { timeout: subprocessMs })
      await page.locator("#camera").waitFor({ state: "visible" })
      await page.click("#camera")
      await page.waitForFunction(
        () => (window as any).reactorPage.messages.filter((m: any) => m.type === "frame").length >= 3,
        null,
        {
          timeout: subprocessMs
        }
      )
      const frames = await page.evaluate(() =>
        (window as any).reactorPage.messages.filter((m: any) => m.type === "frame")
      )
      // Chromium's fake camera is 640x480; the page sends it scaled to 320 wide, raw RGB, with its capture time.
      expect(frames.at(-1)).toMatchObject({ track: "cam", width: 320, height: 240, bytes: 320 * 240 * 3 })
      expect(frames.at(-1).capturedAt).toBeGreaterThan(Date.now() - 60_000)
      expect(await page.evaluate(() => (window as any).reactorPage.camera)).toBe(true)
      // The model's mirrored frames are drawn.
      await page.waitForFunction(() => (window as any).reactorPage.framesDrawn > 0, null, { timeout: subprocessMs })
      expect(await page.evaluate(() => (window as any).reactorPage.errors)).toEqual([])
      await page.click("#camera")
      expect(await page.evaluate(() => (window as any).reactorPage.camera)).toBe(false)
      await page.close()
    }, subprocessTestMs)

    it("keeps the camera hidden for a model without input tracks", async () => {
      const page = await context.newPage()
      await page.goto(`${without.url}/`)
      await page.waitForFunction(() => (window as any).reactorPage?.status === "live", null, { timeout: subprocessMs })
      expect(await page.locator("#camera").isHidden()).toBe(true)
      await page.close()
    }, subprocessTestMs)
  }
)
