import { describe, expect, it } from "@effect/vitest"
import * as Frame from "../../src/model/Frame.js"

const rgb = (width: number, height: number, fill = 7) =>
  Frame.make(width, height, new Uint8Array(width * height * 3).fill(fill))

describe("Frame", () => {
  it("builds a frame whose buffer matches its size", () => {
    expect(rgb(4, 2).data.length).toBe(24)
  })

  it.each([
    [2, 2, new Uint8Array(10), "frame data has 10 bytes but 2x2 RGB needs 12"],
    [2, 2, new Uint8Array(16), "frame data has 16 bytes but 2x2 RGB needs 12"],
    [0, 2, new Uint8Array(0), "frame size must be positive integers, got 0x2"],
    [2.5, 2, new Uint8Array(15), "frame size must be positive integers, got 2.5x2"],
    [-1, 2, new Uint8Array(0), "frame size must be positive integers, got -1x2"],
    [9000, 1, new Uint8Array(0), "frame size 9000x1 exceeds 8192x8192"],
    [1, 1, [1, 2, 3] as unknown as Uint8Array, "frame data must be a Uint8Array of RGB bytes"],
    [1, 1, new Uint16Array(3) as unknown as Uint8Array, "frame data must be a Uint8Array of RGB bytes"]
  ])("refuses %sx%s with %o: %s", (width, height, data, message) => {
    expect(() => Frame.make(width, height, data)).toThrow(Frame.FrameError)
    expect(() => Frame.make(width, height, data)).toThrow(message)
  })

  it("reads null as a black frame the size of the previous one, or of the fallback", () => {
    const fallback = { width: 3, height: 2 }
    const [first] = Frame.toBlock(null, undefined, fallback) as ReadonlyArray<Frame.Frame>
    expect(first).toEqual({ width: 3, height: 2, data: new Uint8Array(18) })
    const block = Frame.toBlock([rgb(5, 4), null], undefined, fallback) as ReadonlyArray<Frame.Frame>
    expect(block[1]).toMatchObject({ width: 5, height: 4 })
    expect(block[1]!.data.every((byte) => byte === 0)).toBe(true)
    const after = Frame.toBlock(null, rgb(6, 1), fallback) as ReadonlyArray<Frame.Frame>
    expect(after[0]).toMatchObject({ width: 6, height: 1 })
  })

  it("takes one frame or a block of 1 to maxBlockSize frames", () => {
    expect(Frame.toBlock(rgb(2, 2), undefined, { width: 1, height: 1 })).toHaveLength(1)
    const full = Array.from({ length: Frame.maxBlockSize }, () => rgb(2, 2))
    expect(Frame.toBlock(full, undefined, { width: 1, height: 1 })).toHaveLength(Frame.maxBlockSize)
  })

  it.each([
    [[], "emit was given an empty block"],
    [
      Array.from({ length: Frame.maxBlockSize + 1 }, () => null),
      `a block holds at most ${Frame.maxBlockSize} frames, got ${Frame.maxBlockSize + 1}`
    ],
    [[rgb(2, 2), rgb(3, 2)], "frame 1 of the block is 3x2 but frame 0 is 2x2"],
    [
      [rgb(2, 2), rgb(2, 2), { width: 2, height: 2, data: new Uint8Array(3) }],
      "frame 2 of the block: frame data has 3 bytes but 2x2 RGB needs 12"
    ],
    [{ width: 2, height: 2, data: new Uint8Array(3) }, "frame data has 3 bytes but 2x2 RGB needs 12"]
  ])("refuses a bad block with a clear message: %#", (emitted, message) => {
    const result = Frame.toBlock(emitted as Frame.Emittable, undefined, { width: 2, height: 2 })
    expect(result).toBeInstanceOf(Frame.FrameError)
    expect((result as Frame.FrameError).message).toBe(message)
  })

  it("refuses a frame whose size differs from the session's previous frame, naming both sizes", () => {
    const fallback = { width: 3, height: 2 }
    const error = Frame.toBlock(rgb(4, 4), rgb(2, 2), fallback)
    expect(error).toBeInstanceOf(Frame.FrameError)
    expect((error as Frame.FrameError).message).toMatch(/^the frame size changed mid-session from 2x2 to 4x4; /)
    expect(Frame.toBlock([null, rgb(4, 4)], rgb(2, 2), fallback)).toBeInstanceOf(Frame.FrameError)
    // The same size goes on; a black frame takes the previous size.
    expect(Frame.toBlock([rgb(2, 2), null], rgb(2, 2), fallback)).toHaveLength(2)
  })
})

describe("Frame.handOver", () => {
  const big = () => Frame.black(148, 148)

  it("hands over a whole buffer of 64 KiB once: emitting it again, or twice in a block, says to use Frame.clone", () => {
    const given = new WeakSet<ArrayBuffer>()
    const frame = big()
    expect(Frame.handOver([frame], given)).toBeUndefined()
    expect(Frame.handOver([frame], given)?.message).toMatch(/already handed over.*Frame\.clone/)
    expect(Frame.handOver([Frame.clone(frame)], given)).toBeUndefined()
    const twice = big()
    expect(Frame.handOver([twice, twice], given)?.message).toMatch(/^frame 1 of the block: already|frame data was/)
    // a refused block hands nothing over
    expect(Frame.handOver([twice], given)).toBeUndefined()
  })

  it("leaves small frames and views into a larger buffer to be copied, so they may be emitted again", () => {
    const given = new WeakSet<ArrayBuffer>()
    const small = Frame.black(16, 16)
    const shared = new Uint8Array(148 * 148 * 3 * 2)
    const view = Frame.make(148, 148, shared.subarray(0, 148 * 148 * 3))
    for (let i = 0; i < 2; i++) {
      expect(Frame.handOver([small], given)).toBeUndefined()
      expect(Frame.handOver([view], given)).toBeUndefined()
    }
  })
})
