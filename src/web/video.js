/**
 * Video frames: a canvas that draws JPEG or raw RGB payloads of the binary frame messages (their header is read by
 * frameHeader.js). Drawing keeps only the latest frame: one that arrives while another decodes replaces the waiting one.
 */
import { CODEC_JPEG, CODEC_RGB, readHeader } from "./frameHeader.js"

/** Reads a binary message: the header's fields and the `payload`, or null if it is not a frame (frameHeader.js). */
export const parseFrame = readHeader

/**
 * A canvas that shows frames. `onResize({width, height})` when the frame size changes, `onDrawn(frame)` after each
 * drawn frame, `onError(frame, error)` for a frame that could not be decoded.
 */
export function createScreen(canvas, { onResize, onDrawn, onError }) {
  const context = canvas.getContext("2d", { alpha: false })
  let waiting = null
  let drawing = false
  let imageData = null

  async function draw({ codec, width, height, payload }) {
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width
      canvas.height = height
      onResize({ width, height })
    }
    if (codec === CODEC_JPEG) {
      const bitmap = await createImageBitmap(new Blob([payload], { type: "image/jpeg" }))
      context.drawImage(bitmap, 0, 0, width, height)
      bitmap.close()
    } else if (codec === CODEC_RGB) {
      if (payload.length < width * height * 3) throw new Error(`short RGB payload (${payload.length} bytes)`)
      if (!imageData || imageData.width !== width || imageData.height !== height) {
        imageData = new ImageData(width, height)
      }
      const out = imageData.data
      for (let i = 0, j = 0; j < out.length; i += 3, j += 4) {
        out[j] = payload[i]
        out[j + 1] = payload[i + 1]
        out[j + 2] = payload[i + 2]
        out[j + 3] = 255
      }
      context.putImageData(imageData, 0, 0)
    } else {
      throw new Error(`unknown codec ${codec}`)
    }
  }

  async function drain() {
    drawing = true
    try {
      while (waiting) {
        const frame = waiting
        waiting = null
        try {
          await draw(frame)
          onDrawn(frame)
        } catch (error) {
          onError(frame, error)
        }
      }
    } finally {
      drawing = false
    }
  }

  return {
    /** Queues a parsed frame for drawing (latest wins). */
    show(frame) {
      waiting = frame
      if (!drawing) drain()
    }
  }
}
