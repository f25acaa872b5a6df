/**
 * The page's frame header (src/web/frameHeader.js, plain JS for the browser) against the server's
 * (src/protocol/FrameHeader.ts): the same bytes both ways, for frames to the page and the camera's input frames.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
// @ts-expect-error: a plain JS module of the page, without types
import * as PageHeader from "../../src/web/frameHeader.js"

const fields = FastCheck.record({
  codec: FastCheck.constantFrom("rgb" as const, "jpeg" as const),
  track: FastCheck.integer({ min: 0, max: 0xffff }),
  index: FastCheck.integer({ min: 0, max: 0xffffffff }),
  width: FastCheck.integer({ min: 0, max: 0xffff }),
  height: FastCheck.integer({ min: 0, max: 0xffff }),
  capturedAt: FastCheck.double({ noNaN: true })
})

const serverBytes = (f: FastCheck.RecordValue<any>) => {
  const out = new Uint8Array(FrameHeader.headerBytes + 3)
  out.set([7, 8, 9], FrameHeader.headerBytes)
  FrameHeader.writeHeader(
    out,
    f.codec,
    { index: f.index, frame: { width: f.width, height: f.height }, generatedAt: f.capturedAt },
    f.track
  )
  return out
}

const pageBytes = (f: FastCheck.RecordValue<any>) => {
  const out = new Uint8Array(PageHeader.HEADER_BYTES + 3)
  out.set([7, 8, 9], PageHeader.HEADER_BYTES)
  PageHeader.writeHeader(out, { ...f, codec: FrameHeader.codecId[f.codec as FrameHeader.Format] })
  return out
}

describe("the page's frame header (src/web/frameHeader.js)", () => {
  it("has the server's size, version and codec ids", () => {
    expect(PageHeader.HEADER_BYTES).toBe(FrameHeader.headerBytes)
    expect(PageHeader.VERSION).toBe(FrameHeader.headerVersion)
    expect({ rgb: PageHeader.CODEC_RGB, jpeg: PageHeader.CODEC_JPEG }).toEqual(FrameHeader.codecId)
  })

  it("writes the bytes the server writes, and each reads what the other wrote", () => {
    FastCheck.assert(
      FastCheck.property(fields, (f) => {
        const server = serverBytes(f)
        const page = pageBytes(f)
        expect([...page]).toEqual([...server])
        const read = PageHeader.readHeader(server.buffer)
        expect({ ...read, payload: [...read.payload] }).toEqual({
          version: 1,
          codec: FrameHeader.codecId[f.codec as FrameHeader.Format],
          track: f.track,
          index: f.index,
          width: f.width,
          height: f.height,
          capturedAt: f.capturedAt,
          payload: [7, 8, 9]
        })
        expect(FrameHeader.readHeader(page)).toEqual({ version: 1, ...f })
      }),
      { numRuns: 200 }
    )
  })

  it("the camera's input frame is what the server reads as one (FrameHeader.readInput)", async () => {
    // camera.js packs RGBA from a canvas into RGB behind the header; it runs in Node without a camera
    const { pack } = await import("../../src/web/camera.js" as string)
    const rgba = new Uint8Array([1, 2, 3, 255, 4, 5, 6, 255])
    const input = FrameHeader.readInput(pack(rgba, 2, 1, 3, 9))
    expect(input).toMatchObject({ track: 3, width: 2, height: 1, pixels: new Uint8Array([1, 2, 3, 4, 5, 6]) })
  })

  it("is null for a message that is not a frame", () => {
    expect(PageHeader.readHeader(new ArrayBuffer(10))).toBe(null)
    expect(PageHeader.readHeader(new Uint8Array(24).buffer)).toBe(null)
  })
})
