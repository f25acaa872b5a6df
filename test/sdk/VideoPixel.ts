/**
 * Reading the model's video as a browser page shows it: one pixel of the page's `<video>` (drawn on a canvas at the
 * model's frame coordinates), and whether a colour is near another (video codecs move colours a little).
 */
import type { Page } from "playwright-core"

/** A colour as red, green, blue (0-255). */
export type Rgb = ReadonlyArray<number>

/** Every channel of `actual` within `tolerance` of `wanted`'s. */
export const near = (actual: Rgb, wanted: Rgb, tolerance = 40) =>
  actual.every((v, i) => Math.abs(v - wanted[i]!) <= tolerance)

/** One pixel of the page's video as shown, at the model's frame coordinates. */
export const pixel = (page: Page, [x, y]: readonly [number, number]): Promise<Rgb> =>
  page.evaluate(([x, y]) => {
    const video = document.querySelector("video")!
    const canvas = document.createElement("canvas")
    canvas.width = video.videoWidth
    canvas.height = video.videoHeight
    const context = canvas.getContext("2d")!
    context.drawImage(video, 0, 0)
    return Array.from(context.getImageData(x!, y!, 1, 1).data.slice(0, 3))
  }, [x, y])
