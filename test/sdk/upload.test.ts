/**
 * Uploads with the official SDK, unchanged, in Chromium: `uploadFile` (POST /sessions/{id}/uploads, the PUT, the
 * `fileUploaded` notice) and `sendCommand` with the returned `FileRef` (the command's `uploads` section), against
 * example 09, whose `set_picture` takes a `Param.file`. The picture then shows in ReactorView's `<video>`; a file of a
 * type the model does not take is refused by the server and the SDK's `uploadFile` rejects.
 */
import { LogLevel } from "effect"
import { rmSync } from "node:fs"
import type { Browser, Page } from "playwright-core"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { model } from "../../examples/09-picture.js"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Chromium from "../web/Chromium.js"
import * as Bundle from "./Bundle.js"

if (!Chromium.run) console.warn(`test/sdk/upload.test.ts: browser tests skipped: ${Chromium.missing}`)
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

interface UploadProbe {
  readonly status: string
  readonly sessionId: string | null
  readonly messages: Array<any>
  readonly upload: (
    bytes: Array<number>,
    type: string,
    name: string,
    command: string,
    param: string
  ) => Promise<{ uploadId: string; name: string; mimeType: string; size: number }>
}

const size = { width: 160, height: 90 }

describe.skipIf(!Chromium.run)(
  Chromium.run ? "sdk: uploadFile + FileRef in Chromium" : `sdk uploads: skipped, ${Chromium.missing}`,
  { timeout: subprocessTestMs },
  () => {
    let server: Server.Handle
    let browser: Browser
    let webRoot: string

    beforeAll(async () => {
      Chromium.ensure()
      webRoot = await Bundle.page("upload.js")
      server = await Server.listen(
        model,
        { host: "127.0.0.1", port: 0, maxSessions: 2, graceMs: 2_000, webRoot },
        { source: "test", value: { ...size, fps: 20 } },
        logLevel
      )
      browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required")
    })

    afterAll(async () => {
      await browser?.close()
      await server?.close()
      if (webRoot) rmSync(webRoot, { recursive: true, force: true })
    })

    const open = async (): Promise<Page> => {
      const page = await browser.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      await page.goto(`${server.url}/`)
      await page.waitForFunction(() => (window as unknown as { sdk: UploadProbe }).sdk?.status === "ready", null, {
        timeout: subprocessMs
      })
      return page
    }

    /** The colour of the video's centre, as shown. */
    const centre = (page: Page) =>
      page.evaluate(() => {
        const video = document.querySelector("video")!
        const canvas = document.createElement("canvas")
        canvas.width = video.videoWidth
        canvas.height = video.videoHeight
        const context = canvas.getContext("2d")!
        context.drawImage(video, 0, 0)
        return Array.from(context.getImageData(video.videoWidth >> 1, video.videoHeight >> 1, 1, 1).data.slice(0, 3))
      })

    it("uploads a picture with uploadFile, sends it as a FileRef, and the model shows it", async () => {
      const page = await open()
      await expect.poll(() => page.evaluate(() => document.querySelector("video")!.videoWidth), {
        timeout: subprocessMs
      }).toBe(size.width)
      const png = await sharp({ create: { width: 64, height: 36, channels: 3, background: { r: 250, g: 200, b: 0 } } })
        .png().toBuffer()
      const ref = await page.evaluate(
        (bytes) =>
          (window as unknown as { sdk: UploadProbe }).sdk.upload(
            bytes,
            "image/png",
            "sun.png",
            "set_picture",
            "picture"
          ),
        [...png]
      )
      expect(ref).toMatchObject({ name: "sun.png", mimeType: "image/png", size: png.length })
      expect(ref.uploadId).toMatch(/^[0-9a-f]{32}$/)
      // the model's handler got the bytes: it says so, and the picture is on screen
      await expect.poll(() => page.evaluate(() => (window as unknown as { sdk: UploadProbe }).sdk.messages), {
        timeout: subprocessMs
      }).toContainEqual(expect.objectContaining({ type: "picture", name: "sun.png", bytes: png.length }))
      await expect.poll(() => centre(page), { timeout: subprocessMs, interval: 100 }).toSatisfy((rgb: Array<number>) =>
        Math.abs(rgb[0]! - 250) <= 40 && Math.abs(rgb[1]! - 200) <= 40 && rgb[2]! <= 60
      )
      await page.close()
    })

    it("a file of a type no parameter takes is refused, and uploadFile rejects with the server's answer", async () => {
      const page = await open()
      const error = await page.evaluate(() =>
        (window as unknown as { sdk: UploadProbe }).sdk.upload(
          [104, 105],
          "text/plain",
          "notes.txt",
          "set_picture",
          "picture"
        )
          .then(() => "uploaded", (e: Error) => e.message)
      )
      expect(error).toContain("415")
      expect(error).toContain("upload_type_not_allowed")
      await page.close()
    })
  }
)
