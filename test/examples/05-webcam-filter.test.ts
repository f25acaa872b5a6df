import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import {
  apply,
  Commands,
  edgeMagnitude,
  type Filter,
  filters,
  initial,
  model,
  resize,
  testPattern
} from "../../examples/05-webcam-filter.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Model from "../../src/model/Model.js"
import { ModelTest } from "../../src/testing/index.js"
import { commandProperties } from "../fixtures/core-properties.js"

const config = { width: 32, height: 18, fps: 30 }

/** Any small RGB picture. */
const picture = FastCheck.record({
  width: FastCheck.integer({ min: 1, max: 24 }),
  height: FastCheck.integer({ min: 1, max: 24 })
})
  .chain(({ height, width }) =>
    FastCheck.uint8Array({ minLength: width * height * 3, maxLength: width * height * 3 }).map((data) => ({
      width,
      height,
      data
    }))
  )
const size = FastCheck.integer({ min: 1, max: 40 })

/**
 * The filters as plain floating-point formulas, written for clarity rather than speed: the example's integer fast
 * path must agree with them.
 */
const reference = {
  edgeMagnitude: ({ data, height, width }: { width: number; height: number; data: Uint8Array }) => {
    const luma = (x: number, y: number) => {
      const i = (y * width + x) * 3
      return 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!
    }
    const out = new Array<number>(width * height).fill(0)
    for (let y = 1; y < height - 1; y++) {
      for (let x = 1; x < width - 1; x++) {
        const at = (dx: number, dy: number) => luma(x + dx, y + dy)
        const gx = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1)
        const gy = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1)
        out[y * width + x] = Math.min(255, Math.floor(Math.hypot(gx, gy) / 4))
      }
    }
    return out
  },
  apply: (camera: { width: number; height: number; data: Uint8Array }, filter: Filter, strength: number) => {
    const edges = reference.edgeMagnitude(camera)
    return Array.from(camera.data, (value, i) => {
      const filtered = filter === "posterize"
        ? Math.round(value / 85) * 85
        : filter === "edges"
        ? edges[Math.floor(i / 3)]!
        : 255 - edges[Math.floor(i / 3)]!
      return Math.round(value * (1 - strength) + filtered * strength)
    })
  }
}

/** The largest difference between two pictures' bytes. */
const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

const solid = (width: number, height: number, value: number) => ({
  width,
  height,
  data: new Uint8Array(width * height * 3).fill(value)
})

describe("examples/05-webcam-filter", () => {
  commandProperties({
    model,
    commands: Commands,
    config,
    expected: (commands) =>
      commands.reduce<Record<string, unknown>>(
        (state, { data, type }) =>
          type === "set_strength" ? { ...state, strength: data.strength ?? 0.8 } : { ...state, filter: data.filter },
        { ...initial }
      )
  })

  it("declares the webcam as an input track, and offers a slider and a select", () => {
    expect(Model.declaredOf(model)?.inputs).toEqual({
      webcam: { kind: "video", description: "Your camera", maxWidth: 1280, maxHeight: 720 }
    })
    expect(Capabilities.toReactor(Capabilities.ofGroup(Commands))).toMatchObject([
      { name: "set_strength", schema: { strength: { type: "number", minimum: 0, maximum: 1, default: 0.8 } } },
      { name: "set_filter", schema: { filter: { type: "string", enum: [...filters] } } }
    ])
  })

  it.prop("the output always has the output size, whatever the camera's", [
    picture,
    size,
    size,
    FastCheck.constantFrom(...filters),
    FastCheck.double({ min: 0, max: 1, noNaN: true })
  ], ([camera, width, height, filter, strength]) => {
    const out = apply(camera, { filter, strength }, width, height)
    expect([out.width, out.height, out.data.length]).toEqual([width, height, width * height * 3])
  })

  it.prop("strength 0 shows the camera as it is (scaled), and never changes the camera's own buffer", [
    picture,
    size,
    size,
    FastCheck.constantFrom(...filters)
  ], ([camera, width, height, filter]) => {
    const before = camera.data.slice()
    expect(apply(camera, { filter, strength: 0 }, width, height)).toEqual(resize(camera, width, height))
    apply(camera, { filter, strength: 1 }, width, height)
    expect(camera.data).toEqual(before)
  })

  it.prop("a flat picture has no edges: black at full edge strength, white as a sketch", [
    size,
    size,
    FastCheck.integer({ min: 0, max: 255 })
  ], ([width, height, value]) => {
    const flat = solid(width, height, value)
    expect(apply(flat, { filter: "edges", strength: 1 }, width, height).data.every((v) => v === 0)).toBe(true)
    expect(apply(flat, { filter: "sketch", strength: 1 }, width, height).data.every((v) => v === 255)).toBe(true)
  })

  it("an edge is found where the picture changes", () => {
    const half = solid(8, 8, 0)
    for (let y = 0; y < 8; y++) for (let x = 4; x < 8; x++) half.data.fill(255, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3)
    const edges = edgeMagnitude(half)
    expect(edges[3 * 8 + 4]).toBeGreaterThan(200)
    expect(edges[3 * 8 + 1]).toBe(0)
    expect(edges[3 * 8 + 6]).toBe(0)
  })

  it.prop("the integer fast path agrees with the floating-point formulas: edges within 1, every filter within 2", [
    picture,
    FastCheck.constantFrom(...filters),
    FastCheck.double({ min: 0, max: 1, noNaN: true })
  ], ([camera, filter, strength]) => {
    expect(maxDifference(edgeMagnitude(camera), reference.edgeMagnitude(camera))).toBeLessThanOrEqual(1)
    const out = apply(camera, { filter, strength }, camera.width, camera.height)
    expect(maxDifference(out.data, reference.apply(camera, filter, strength))).toBeLessThanOrEqual(2)
  })

  it("at full strength the poster filter is exact, and strong edges reach white at their full size", () => {
    const ramp = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) }
    expect([...apply(ramp, { filter: "posterize", strength: 1 }, 256, 1).data]).toEqual(
      reference.apply(ramp, "posterize", 1)
    )
    // A black-white step: its Sobel magnitude is 4 * 255 / 4 = 255 across the step, 0 away from it.
    const step = solid(6, 3, 0)
    for (let y = 0; y < 3; y++) step.data.fill(255, (y * 6 + 3) * 3, (y * 6 + 6) * 3)
    expect([...edgeMagnitude(step).subarray(6, 12)]).toEqual([0, 0, 255, 255, 0, 0])
  })

  it.effect("emits a moving test pattern until a camera frame arrives, then the filtered camera", () =>
    ModelTest.run(model, (session) =>
      Effect.gen(function*() {
        const first = yield* session.frame
        expect(first.frame).toEqual(testPattern(32, 18, 0))
        yield* session.advance(500)
        expect(Buffer.compare((yield* session.bufferedFrames).at(-1)!.frame.data, first.frame.data)).not.toBe(0)
        yield* session.send({ type: "set_strength", data: { strength: 0 } })
        yield* session.pushInput("webcam", solid(64, 36, 77))
        yield* session.advance(100)
        expect((yield* session.bufferedFrames).at(-1)!.frame).toEqual(solid(32, 18, 77))
        // A camera frame too large for the declaration is refused; the picture stays.
        const refused = yield* Effect.flip(session.pushInput("webcam", solid(1920, 1080, 0)))
        expect(refused.code).toBe("input_too_large")
        yield* session.advance(100)
        expect((yield* session.bufferedFrames).at(-1)!.frame).toEqual(solid(32, 18, 77))
      }), { config }))
})
