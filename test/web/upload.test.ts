/**
 * The browser page's file control, in Chromium against example 09: a file parameter (`Param.file`) shows as a file
 * picker; a chosen picture is uploaded (POST /sessions/{id}/uploads, PUT) and the command sent with it in its
 * `uploads` section; the model's answer reaches the page. A file of a type the model does not take shows the
 * runtime's refusal beside the control.
 */
import { LogLevel } from "effect"
import type { Browser, Page } from "playwright-core"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { model } from "../../examples/09-picture.js"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Chromium from "./Chromium.js"

if (!Chromium.run) console.warn(`test/web/upload.test.ts: browser tests skipped: ${Chromium.missing}`)

interface Hook {
  readonly status: string
  readonly framesDrawn: number
  readonly messages: ReadonlyArray<any>
  readonly sent: ReadonlyArray<{ readonly command: string; readonly payload: Record<string, unknown> }>
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string }>
}

describe.skipIf(!Chromium.run)("browser page: file parameters (Chromium)", { timeout: subprocessTestMs }, () => {
  let server: Server.Handle
  let browser: Browser

  beforeAll(async () => {
    Chromium.ensure()
    server = await Server.listen(
      model,
      { host: "127.0.0.1", port: 0, maxSessions: 2, graceMs: 2_000 },
      { source: "test", value: { width: 64, height: 36, fps: 20 } },
      LogLevel.None
    )
    browser = await Chromium.launch()
  })
  afterAll(async () => {
    await server?.close()
    await browser?.close()
  })

  const hook = (page: Page): Promise<Hook> =>
    page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { reactorPage: Hook }).reactorPage)))

  it("uploads the chosen picture and sends the command with it; the model got the file", async () => {
    const page = await browser.newPage()
    await page.goto(`${server.url}/`)
    await page.waitForFunction(() => (window as any).reactorPage?.status === "live", null, { timeout: subprocessMs })
    const picker = page.locator("input[type=\"file\"][data-command=\"set_picture\"]")
    await picker.waitFor({ state: "attached", timeout: subprocessMs })
    expect(await picker.getAttribute("accept")).toBe("image/png,image/jpeg,image/webp")
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#00ff00" } }).png().toBuffer()
    await picker.setInputFiles({ name: "green.png", mimeType: "image/png", buffer: png })
    await expect.poll(async () => (await hook(page)).messages, { timeout: subprocessMs })
      .toContainEqual(expect.objectContaining({ type: "picture", name: "green.png", bytes: png.length }))

    await picker.setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") })
    await expect.poll(() => page.locator("[data-command=\"set_picture\"] .error").first().textContent(), {
      timeout: subprocessMs
    }).toContain("not taken here")
    await page.close()
  })
})
