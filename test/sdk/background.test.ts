/**
 * A trained network behind the official SDK: Chromium's fake camera plays the drawn person (test/fixtures/person.ts,
 * written as a one-frame Y4M file that Chromium loops), `@reactor-team/js-sdk` 2.9.0's `WebcamStream` publishes it on
 * the `webcam` track, and example 06, in a worker thread as `reactor run` runs it, sends back the camera with the
 * background replaced. The mode is set with `ReactorController`'s own controls; everything is read from the outside:
 * the pixels of the model's `<video>`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Person from "../fixtures/person.js"
import * as Chromium from "../web/Chromium.js"
import * as Controller from "./Controller.js"
import * as Suite from "./Suite.js"

Suite.warnIfSkipped("test/sdk/background.test.ts")

const [width, height] = [640, 360]
const camera = Person.picture(width, height)
const output = "video:not(.webcam video)"

/** The picture as a Y4M file of one 4:2:0 frame (BT.601 studio range), for `--use-file-for-fake-video-capture`. */
const y4m = (): Buffer => {
  const y = new Uint8Array(width * height)
  const u = new Uint8Array((width / 2) * (height / 2))
  const v = new Uint8Array((width / 2) * (height / 2))
  const rgb = (x: number, row: number) =>
    Array.from(camera.data.subarray((row * width + x) * 3, (row * width + x) * 3 + 3))
  for (let row = 0; row < height; row++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgb(x, row) as [number, number, number]
      y[row * width + x] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b)
      if (row % 2 === 0 && x % 2 === 0) {
        const i = (row / 2) * (width / 2) + x / 2
        u[i] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b)
        v[i] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b)
      }
    }
  }
  return Buffer.concat([
    Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\nFRAME\n`),
    y,
    u,
    v
  ])
}

/** Points well inside the person and well inside the room (16 px from the outline), every 16th pixel. */
const onPerson = Person.inside(width, height)
const far = (x: number, y: number) =>
  [[-16, 0], [16, 0], [0, -16], [0, 16]].every(([dx, dy]) => onPerson(x + dx!, y + dy!) === onPerson(x, y))
const points = { person: [] as Array<[number, number]>, room: [] as Array<[number, number]> }
for (let y = 8; y < height; y += 16) {
  for (let x = 8; x < width; x += 16) if (far(x, y)) points[onPerson(x, y) ? "person" : "room"].push([x, y])
}

/** The output video's RGB at each point (undefined before it plays at 640x360). */
const sample = (page: Page, at: ReadonlyArray<[number, number]>) =>
  page.evaluate(([selector, at]) => {
    const video = document.querySelector<HTMLVideoElement>(selector as string)
    if (!video || video.videoWidth !== 640) return undefined
    const canvas = document.createElement("canvas")
    canvas.width = 640
    canvas.height = 360
    const context = canvas.getContext("2d", { willReadFrequently: true })!
    context.drawImage(video, 0, 0)
    const data = context.getImageData(0, 0, 640, 360).data
    return (at as Array<[number, number]>).map(([x, y]) =>
      Array.from(data.subarray((y * 640 + x) * 4, (y * 640 + x) * 4 + 3))
    )
  }, [output, at] as const)

/** Share of the points whose output colour is within `tolerance` (per channel) of `expected(x, y)`. */
const matching = async (
  page: Page,
  at: ReadonlyArray<[number, number]>,
  expected: (x: number, y: number) => ReadonlyArray<number>,
  tolerance = 40
) => {
  const pixels = await sample(page, at)
  if (pixels === undefined) return 0
  return pixels.filter((pixel, i) => {
    const want = expected(...at[i]!)
    return pixel.every((c, k) => Math.abs(c - want[k]!) <= tolerance)
  }).length / at.length
}
const cameraAt = (x: number, y: number) =>
  Array.from(camera.data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3))

describe.skipIf(!Chromium.run)(
  Chromium.run
    ? "sdk: WebcamStream into a trained segmentation network (example 06, Chromium)"
    : `sdk background: skipped, ${Chromium.missing}`,
  () => {
    let dir: string
    // Registered before the suite's own hooks: the camera's file exists when the browser starts.
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "background-"))
      writeFileSync(join(dir, "person.y4m"), y4m())
    })
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true })
    })
    const suite = Suite.start({
      model: { _tag: "Worker", module: resolve("examples/06-background.ts"), workers: 1 },
      server: { maxSessions: 2 },
      flags: () => [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        `--use-file-for-fake-video-capture=${join(dir, "person.y4m")}`
      ]
    })

    it(
      "the person in the camera stays, the room behind them turns the chosen colour, and none shows the camera",
      async () => {
        const context = await suite.browser.newContext({ permissions: ["camera"] })
        const page = await context.newPage()
        page.on("pageerror", (error) => console.error("page error:", error))
        await page.goto(`${suite.server.url}/?webcam=webcam`)
        await page.waitForFunction(() => (window as any).sdk?.status === "ready", null, { timeout: 30_000 })
        const state = () =>
          page.evaluate(() => ((window as any).sdk.messages as Array<any>).filter((m) => m.type === "state").at(-1))

        // The colour mode, chosen in ReactorController's set_mode panel; the default colour is (0, 177, 64).
        await page.getByText("set_mode", { exact: true }).waitFor({ timeout: 20_000 })
        await Controller.expand(page, "set_mode")
        await Controller.panel(page, "set_mode").locator("select").selectOption("colour")
        await Controller.execute(page, "set_mode")
        await expect.poll(async () => (await state())?.mode, { timeout: 15_000 }).toBe("colour")
        const poll = (at: ReadonlyArray<[number, number]>, expected: (x: number, y: number) => ReadonlyArray<number>) =>
          expect.poll(() => matching(page, at, expected), { timeout: 30_000, interval: 300 })
        await poll(points.room, () => [0, 177, 64]).toBeGreaterThan(0.9)
        await poll(points.person, cameraAt).toBeGreaterThan(0.9)

        // none: the camera as it is, the room included.
        await Controller.panel(page, "set_mode").locator("select").selectOption("none")
        await Controller.execute(page, "set_mode")
        await expect.poll(async () => (await state())?.mode, { timeout: 15_000 }).toBe("none")
        await poll(points.room, cameraAt).toBeGreaterThan(0.9)
        await context.close()
      },
      120_000
    )
  }
)
