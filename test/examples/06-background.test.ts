import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck } from "effect"
import {
  alphaOf,
  beach,
  blurred,
  Commands,
  composite,
  filled,
  initial,
  make,
  model,
  modes,
  opaque,
  resize,
  side,
  toInput,
  waiting
} from "../../examples/06-background.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import type { Frame } from "../../src/model/Frame.js"
import { ModelTest } from "../../src/testing/index.js"
import { commandProperties } from "../fixtures/core-properties.js"
import * as Person from "../fixtures/person.js"

const config = { width: 64, height: 36, fps: 30 }

describe("examples/06-background", () => {
  // The commands do not touch the network: their properties run on the same model with a stand-in network (loading
  // onnxruntime once per property run took minutes on a loaded machine); the network's own tests are below.
  commandProperties({
    model: make(() =>
      Effect.succeed({ segment: (input: Float32Array) => Effect.succeed(input.subarray(0, side * side)) })
    ),
    commands: Commands,
    config,
    expected: (commands) =>
      commands.reduce<Record<string, unknown>>(
        (state, { data, type }) =>
          type === "set_mode"
            ? { ...state, mode: data.mode }
            : type === "set_colour"
            ? { ...state, colour: { r: data.r ?? 0, g: data.g ?? 177, b: data.b ?? 64 } }
            : { ...state, threshold: data.threshold ?? 0.5, softness: data.softness ?? 0.2 },
        { ...initial }
      )
  }, 25)

  it("offers the mode as a select and the colour and edges as sliders", () => {
    expect(Capabilities.toReactor(Capabilities.ofGroup(Commands))).toMatchObject([
      { name: "set_mode", schema: { mode: { type: "string", enum: [...modes] } } },
      { name: "set_colour", schema: { r: { type: "integer", minimum: 0, maximum: 255, default: 0 } } },
      { name: "set_edges", schema: { threshold: { type: "number", minimum: 0, maximum: 1, default: 0.5 } } }
    ])
  })

  it.prop("alpha is 0 below the edge's ramp, 256 (whole) above it, and in [0, 256] everywhere", [
    FastCheck.array(FastCheck.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 64 }),
    FastCheck.double({ min: 0, max: 1, noNaN: true }),
    FastCheck.double({ min: 0, max: 0.5, noNaN: true })
  ], ([values, threshold, softness]) => {
    const mask = new Float32Array(side * side).map((_, i) => values[i % values.length]!)
    const alpha = alphaOf(mask, 32, 18, { threshold, softness })
    expect(alpha.every((a) => a >= 0 && a <= opaque)).toBe(true)
    const everywhere = (value: number) =>
      alphaOf(new Float32Array(side * side).fill(value), 8, 8, { threshold, softness })
    if (threshold + softness / 2 + 1e-3 < 1) expect(everywhere(1).every((a) => a === opaque)).toBe(true)
    if (threshold - softness / 2 - 1e-3 > 0) expect(everywhere(0).every((a) => a === 0)).toBe(true)
  }, { fastCheck: { numRuns: 30 } })

  it.prop("alpha follows the mask: upsampled bilinearly, within one 256th of the floating-point formula", [
    FastCheck.array(FastCheck.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 }),
    FastCheck.integer({ min: 1, max: 80 }),
    FastCheck.integer({ min: 1, max: 60 })
  ], ([values, width, height]) => {
    const mask = new Float32Array(side * side).map((_, i) => values[(i * 7) % values.length]!)
    const settings = { threshold: 0.5, softness: 0.4 }
    const ramp = (p: number) => Math.min(1, Math.max(0, (p - 0.3) / 0.4))
    const alpha = alphaOf(mask, width, height, settings)
    for (let y = 0; y < height; y++) {
      const sy = Math.min(Math.max(((y + 0.5) * side) / height - 0.5, 0), side - 1)
      const [y0, fy] = [Math.floor(sy), sy - Math.floor(sy)]
      const y1 = Math.min(y0 + 1, side - 1)
      for (let x = 0; x < width; x++) {
        const sx = Math.min(Math.max(((x + 0.5) * side) / width - 0.5, 0), side - 1)
        const [x0, fx] = [Math.floor(sx), sx - Math.floor(sx)]
        const x1 = Math.min(x0 + 1, side - 1)
        const at = (xx: number, yy: number) => ramp(mask[yy * side + xx]!)
        const want = (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) +
          (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy
        expect(Math.abs(alpha[y * width + x]! / opaque - want)).toBeLessThan(2.5 / opaque)
      }
    }
  }, { fastCheck: { numRuns: 20 } })

  it.prop("the composite is the camera where alpha is whole, the background where it is 0, a blend between", [
    FastCheck.integer({ min: 1, max: 16 }),
    FastCheck.integer({ min: 1, max: 16 }),
    FastCheck.array(FastCheck.integer({ min: 0, max: opaque }), { minLength: 1, maxLength: 256 })
  ], ([width, height, alphas]) => {
    const camera = Person.picture(width, height)
    const background = beach(width, height)
    expect(composite(camera, background, new Uint16Array(width * height).fill(opaque)).data).toEqual(camera.data)
    expect(composite(camera, background, new Uint16Array(width * height)).data).toEqual(background)
    const alpha = Uint16Array.from({ length: width * height }, (_, i) => alphas[i % alphas.length]!)
    const out = composite(camera, background, alpha).data
    for (let i = 0; i < out.length; i++) {
      const a = alpha[Math.floor(i / 3)]! / opaque
      expect(Math.abs(out[i]! - (camera.data[i]! * a + background[i]! * (1 - a)))).toBeLessThanOrEqual(1)
    }
  })

  it.prop("the blur keeps a flat picture as it is, and mixes only colours the picture has", [
    FastCheck.integer({ min: 1, max: 40 }),
    FastCheck.integer({ min: 1, max: 40 }),
    FastCheck.integer({ min: 0, max: 255 })
  ], ([width, height, value]) => {
    const flat = { width, height, data: new Uint8Array(width * height * 3).fill(value) }
    expect(blurred(flat)).toEqual(flat.data)
    const camera = Person.picture(width * 4, height * 4)
    const out = blurred(camera)
    for (let k = 0; k < 3; k++) {
      const channel = (data: Uint8Array) => data.filter((_, i) => i % 3 === k)
      const [low, high] = [Math.min(...channel(camera.data)), Math.max(...channel(camera.data))]
      expect(channel(out).every((v) => v >= low && v <= high)).toBe(true)
    }
  }, { fastCheck: { numRuns: 20 } })

  it("a colour fill is that colour everywhere", () => {
    const fill = filled(7, 5, { r: 1, g: 2, b: 3 })
    expect(Array.from(fill)).toEqual(Array.from({ length: 105 }, (_, i) => [1, 2, 3][i % 3]))
  })

  it("the network's input is 256x256 planar RGB in [0, 1]", () => {
    const input = toInput(Person.picture(64, 36))
    expect(input.length).toBe(3 * side * side)
    expect(input.every((v) => v >= 0 && v <= 1)).toBe(true)
  })

  it.live("a network file that is not there fails the model's load, naming the path", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        ModelTest.run(model, () => Effect.void, { config: { modelPath: "/nowhere/net.onnx" } })
      )
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(
        "cannot load the network from /nowhere/net.onnx"
      )
    }))

  it.live(
    "keeps the drawn person's pixels and replaces the room's: the trained network ran",
    () =>
      ModelTest.run(model, (session) =>
        Effect.gen(function*() {
          const [width, height] = [640, 360]
          const camera = Person.picture(width, height)
          const drawn = Person.inside(width, height)
          const mask = new Uint8Array(width * height).map((_, i) => (drawn(i % width, Math.floor(i / width)) ? 1 : 0))
          const onPerson = (x: number, y: number) =>
            x >= 0 && y >= 0 && x < width && y < height ? mask[y * width + x] === 1 : false
          // Pixels at least 12 px from the person's outline, on either side (the edge itself is blended).
          const near = (x: number, y: number) =>
            [[-12, 0], [12, 0], [0, -12], [0, 12]].some(([dx, dy]) => onPerson(x + dx!, y + dy!) !== onPerson(x, y))
          const person = (x: number, y: number) => onPerson(x, y) && !near(x, y)
          const room = (x: number, y: number) => !onPerson(x, y) && !near(x, y)
          const same = (pixel: Array<number>, i: number) =>
            pixel.every((v, k) => Math.abs(v - camera.data[i + k]!) <= 2)
          const green = (pixel: Array<number>) => Math.abs(pixel[0]!) + Math.abs(pixel[1]! - 255) + pixel[2]! <= 6

          expect((yield* session.frame).frame).toEqual(waiting(width, height, 0))
          yield* session.send({ type: "set_colour", data: { r: 0, g: 255, b: 0 } })
          yield* session.send({ type: "set_mode", data: { mode: "colour" } })
          /** The next output made from the camera frame pushed now. */
          const output = (picture: Frame) =>
            Effect.gen(function*() {
              yield* session.pushInput("webcam", { ...picture, data: picture.data.slice() })
              for (;;) {
                const { frame } = yield* session.frame
                if (frame.data[0] !== 40 || frame.data[1] !== 40) return frame
              }
            })

          const replaced = yield* output(camera)
          expect(Person.share(replaced, person, same)).toBeGreaterThan(0.97)
          expect(Person.share(replaced, room, green)).toBeGreaterThan(0.97)

          // A room with nobody in it: all of it replaced.
          const empty = yield* output(Person.picture(width, height, false))
          expect(Person.share(empty, () => true, green)).toBeGreaterThan(0.98)

          // The picture mode puts the beach behind the person; none shows the camera as it is.
          yield* session.send({ type: "set_mode", data: { mode: "picture" } })
          const onBeach = yield* output(camera)
          const sea = beach(width, height)
          expect(Person.share(onBeach, person, same)).toBeGreaterThan(0.97)
          expect(Person.share(onBeach, room, (pixel, i) => pixel.every((v, k) => Math.abs(v - sea[i + k]!) <= 2)))
            .toBeGreaterThan(0.97)
          yield* session.send({ type: "set_mode", data: { mode: "none" } })
          expect(yield* output(camera)).toEqual(resize(camera, width, height))
        }), { config: { width: 640, height: 360 } }),
    120_000
  )
})
