/**
 * The binary frame message: the 24-byte header round-trips, RGB is the raw bytes, JPEG decodes to the frame's size.
 */
import { Effect, FastCheck as fc } from "effect"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import * as Frame from "../../src/model/Frame.js"
import * as FrameHeader from "../../src/protocol/FrameHeader.js"
import type { OutFrame } from "../../src/session/FrameBus.js"
import * as FrameCodec from "../../src/transport/FrameCodec.js"

const out = (index: number, width: number, height: number, fill = 0, generatedAt = 1_700_000_000_123.5): OutFrame => ({
  index,
  frame: Frame.make(width, height, new Uint8Array(width * height * 3).fill(fill)),
  generatedAt,
  emittedAt: generatedAt + 5
})

describe("FrameCodec", () => {
  it("writes a header that reads back (magic, version, codec, track, index, size, capture time)", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.integer({ min: 1, max: 8192 }),
        fc.integer({ min: 1, max: 8192 }),
        fc.constantFrom<FrameCodec.Format>("jpeg", "rgb"),
        fc.double({ min: 0, max: 4e12, noNaN: true }),
        (index, width, height, format, at) => {
          const bytes = new Uint8Array(FrameHeader.headerBytes)
          const frame = { index, frame: { width, height, data: new Uint8Array(0) }, generatedAt: at, emittedAt: at }
          FrameHeader.writeHeader(bytes, format, frame)
          expect([bytes[0], bytes[1], bytes[2], bytes[6], bytes[7]]).toEqual([0x52, 0x46, 1, 0, 0])
          expect(FrameHeader.readHeader(bytes)).toEqual({
            version: 1,
            codec: format,
            track: 0,
            index,
            width,
            height,
            capturedAt: at
          })
        }
      ),
      { numRuns: 500 }
    )
    expect(FrameHeader.readHeader(new Uint8Array(10))).toBeUndefined()
  })

  it("encodes raw RGB after the header", async () => {
    const bytes = await Effect.runPromise(FrameCodec.encode(out(7, 4, 2, 9), "rgb", 80))
    expect(bytes.length).toBe(24 + 4 * 2 * 3)
    expect(bytes[3]).toBe(0)
    expect([...bytes.subarray(24)].every((b) => b === 9)).toBe(true)
  })

  it("encodes JPEG that decodes to the frame's size", async () => {
    const bytes = await Effect.runPromise(FrameCodec.encode(out(3, 64, 32, 200), "jpeg", 90))
    expect(FrameHeader.readHeader(bytes)).toMatchObject({ codec: "jpeg", index: 3, width: 64, height: 32 })
    const { data, info } = await sharp(bytes.subarray(24)).raw().toBuffer({ resolveWithObject: true })
    expect(info).toMatchObject({ width: 64, height: 32, channels: 3 })
    expect(Math.abs(data[0]! - 200)).toBeLessThan(4)
  })

  it("parses ?format and ?quality, naming a bad value", () => {
    expect(FrameCodec.parseQuery(new URLSearchParams(""), 80)).toEqual({ format: "jpeg", quality: 80 })
    expect(FrameCodec.parseQuery(new URLSearchParams("format=rgb&quality=20"), 80)).toEqual({
      format: "rgb",
      quality: 20
    })
    expect(FrameCodec.parseQuery(new URLSearchParams("format=webp"), 80)).toContain("webp")
    expect(FrameCodec.parseQuery(new URLSearchParams("quality=0"), 80)).toContain("quality")
  })
})
