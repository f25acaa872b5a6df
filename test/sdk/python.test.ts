/**
 * The official SDK (`@reactor-team/js-sdk` 2.9.0, bundled unchanged) in Chromium against a Python model over WebRTC:
 * it reaches ready and plays the model's video, `ReactorController` renders a control for every command the Python
 * signatures declare, and a command sent from it reaches the Python method (its message comes back to the page).
 */
import { resolve } from "node:path"
import type { Page } from "playwright-core"
import { describe, expect, it } from "vitest"
import * as Chromium from "../web/Chromium.js"
import * as Controller from "./Controller.js"
import * as Suite from "./Suite.js"

Suite.warnIfSkipped("test/sdk/python.test.ts")

describe.skipIf(!Chromium.run)("sdk in Chromium: a Python model", () => {
  const suite = Suite.start({
    model: { _tag: "Python", module: resolve("test/fixtures/python/seed.py") },
    server: { maxSessions: 1 }
  })

  it("plays the video, renders every command's controls, and a command from it reaches the Python method", async () => {
    const page: Page = await suite.browser.newPage()
    page.on("pageerror", (error) => console.error("page error:", error))
    await page.goto(`${suite.server.url}/`)
    await page.waitForFunction(() => (window as any).sdk?.status === "ready", null, { timeout: 30_000 })
    await expect.poll(() => page.evaluate(() => document.querySelector("video")!.videoWidth), { timeout: 20_000 })
      .toBe(64)
    for (const command of ["set_color", "move", "whoami", "fail", "misbehave"]) {
      await page.locator("h4", { hasText: new RegExp(`^${command}$`) }).waitFor({ timeout: 15_000 })
    }
    // A command without parameters is a button; its Python method's message comes back to the page.
    await Controller.expand(page, "whoami")
    await Controller.execute(page, "whoami")
    await expect.poll(() => page.evaluate(() => (window as any).sdk.messages), { timeout: 15_000 }).toContainEqual({
      type: "whoami",
      data: { pid: expect.any(Number) }
    })
    await page.close()
  }, 120_000)
})
