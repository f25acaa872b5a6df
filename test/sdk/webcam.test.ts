/**
 * Video to video with the official SDK: `@reactor-team/js-sdk` 2.9.0's own `WebcamStream` publishes Chromium's fake
 * camera on the `webcam` track (a `sendonly` transceiver, matched by name in `track_mapping`), and example 05, run in
 * a worker thread as `reactor run` runs it, sends back the filtered camera, which `ReactorView` plays. Everything is
 * read from the outside: the pixels of the two `<video>` elements (the camera preview and the model's output).
 */
import { resolve } from "node:path"
import type { Page } from "playwright-core"
import { describe, expect, it } from "vitest"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as Chromium from "../web/Chromium.js"
import * as Controller from "./Controller.js"
import * as Suite from "./Suite.js"

Suite.warnIfSkipped("test/sdk/webcam.test.ts")

/** The model's output (ReactorView's video) and the camera preview (WebcamStream's, in `.webcam`). */
const output = "video:not(.webcam video)"
const preview = ".webcam video"

/** A video's current picture scaled to 32x18 by the browser, as luma per cell (0-255). */
const grid = (page: Page, selector: string): Promise<Array<number>> =>
  page.evaluate((selector) => {
    const video = document.querySelector<HTMLVideoElement>(selector)
    if (!video || video.videoWidth === 0) return []
    const canvas = document.createElement("canvas")
    canvas.width = 32
    canvas.height = 18
    const context = canvas.getContext("2d", { willReadFrequently: true })!
    context.drawImage(video, 0, 0, 32, 18)
    const rgba = context.getImageData(0, 0, 32, 18).data
    const luma: Array<number> = []
    for (let i = 0; i < rgba.length; i += 4) luma.push(0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!)
    return luma
  }, selector)

/** Mean absolute difference of two grids (NaN, which passes no bound, while either video has no picture). */
const distance = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.length === 0 || a.length !== b.length
    ? NaN
    : a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length

/** The example's test pattern at a bar's centre, above the dim bottom strip: 0.75 of the bar's colour. */
const bars = [[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0], [0, 0, 255]]
/**
 * How many of the test pattern's seven bars the output shows (the sweeping bright bar covers at most one); -1 while
 * the output has no picture yet.
 */
const barsShown = (page: Page): Promise<number> =>
  page.evaluate(([selector, bars]) => {
    const video = document.querySelector<HTMLVideoElement>(selector as string)
    if (!video || video.videoWidth === 0) return -1
    const canvas = document.createElement("canvas")
    canvas.width = video.videoWidth
    canvas.height = video.videoHeight
    const context = canvas.getContext("2d", { willReadFrequently: true })!
    context.drawImage(video, 0, 0)
    return (bars as Array<Array<number>>).filter((bar, i) => {
      const x = Math.floor(((i + 0.5) * canvas.width) / 7)
      const rgb = context.getImageData(x, Math.floor(canvas.height * 0.4), 1, 1).data
      return bar.every((c, k) => Math.abs(rgb[k]! - c * 0.75) <= 40)
    }).length
  }, [output, bars] as const)

describe.skipIf(!Chromium.run)(
  Chromium.run
    ? "sdk: WebcamStream into a video-to-video model (Chromium)"
    : `sdk webcam: skipped, ${Chromium.missing}`,
  { timeout: subprocessTestMs },
  () => {
    const suite = Suite.start({
      model: { _tag: "Worker", module: resolve("examples/05-webcam-filter.ts"), workers: 1 },
      server: { maxSessions: 2 },
      flags: () => ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    })

    const open = async (query: string): Promise<Page> => {
      const context = await suite.browser.newContext({ permissions: ["camera"] })
      const page = await context.newPage()
      page.on("pageerror", (error) => console.error("page error:", error))
      await page.goto(`${suite.server.url}/${query}`)
      await page.waitForFunction(() => (window as any).sdk?.status === "ready", null, { timeout: subprocessMs })
      return page
    }
    const close = (page: Page) => page.context().close()

    /** The model's last `state` message (it sends one per command applied). */
    const state = (page: Page) =>
      page.evaluate(() => ((window as any).sdk.messages as Array<any>).filter((m) => m.type === "state").at(-1))

    it("without a camera published the model shows its test pattern", async () => {
      const page = await open("")
      await expect.poll(() => barsShown(page), { timeout: subprocessMs, interval: 200 }).toBeGreaterThanOrEqual(6)
      await close(page)
    }, subprocessTestMs)

    it(
      "WebcamStream's camera reaches the model, which sends it back filtered; the strength slider changes the filter",
      async () => {
        const page = await open("?webcam=webcam")
        const width = (selector: string) =>
          page.evaluate((selector) => document.querySelector<HTMLVideoElement>(selector)?.videoWidth ?? 0, selector)
        // both pictures play: the model's at its configured 640 wide, the camera preview at the camera's size
        await expect.poll(() => width(output), { timeout: subprocessMs }).toBe(640)
        await expect.poll(() => width(preview), { timeout: subprocessMs }).toBeGreaterThan(0)
        // the camera replaces the test pattern...
        await expect.poll(() => barsShown(page), { timeout: subprocessMs, interval: 200 }).toBe(0)
        // ...filtered: at the example's default (edges, strength 0.8) the output is far from the camera picture
        const camera = async () => distance(await grid(page, output), await grid(page, preview))
        await expect.poll(camera, { timeout: subprocessMs, interval: 200 }).toBeGreaterThan(30)

        // strength 0 = the camera as is. ReactorController's slider sends the value before each change (an SDK bug),
        // so it is moved twice: the second move sends 0.
        await page.getByText("set_strength", { exact: true }).waitFor({ timeout: subprocessMs })
        await Controller.expand(page, "set_strength")
        const slider = Controller.panel(page, "set_strength").locator("input[type=range]")
        await slider.fill("0")
        await slider.fill("1")
        await expect.poll(() => state(page), { timeout: subprocessMs }).toEqual({
          type: "state",
          filter: "edges",
          strength: 0
        })
        // the output follows the camera: its picture is the preview's (a few frames behind)
        await expect.poll(camera, { timeout: subprocessMs, interval: 200 }).toBeLessThan(12)

        // strength 1 (the move sends the slider's previous value, 1): all edges, far from the camera picture
        await slider.fill("0")
        await expect.poll(() => state(page), { timeout: subprocessMs }).toEqual({
          type: "state",
          filter: "edges",
          strength: 1
        })
        await expect.poll(camera, { timeout: subprocessMs, interval: 200 }).toBeGreaterThan(30)
        await close(page)
      },
      90_000
    )
  }
)
