import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, FastCheck } from "effect"
import {
  bilinear,
  blocks,
  Commands,
  initial,
  make,
  model,
  remember,
  shrink,
  sideBySide,
  toFrame,
  toInput,
  views,
  waiting
} from "../../examples/07-upscale.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import type { Frame } from "../../src/model/Frame.js"
import { ModelTest } from "../../src/testing/index.js"
import { commandProperties } from "../fixtures/core-properties.js"
import * as Person from "../fixtures/person.js"

/** A stand-in network: each small pixel repeated 2x2 (the commands never depend on what the network draws). */
const standIn = make(() =>
  Effect.succeed({
    upscale: (input: Float32Array, width: number, height: number) =>
      Effect.sync(() => {
        const out = new Float32Array(input.length * 4)
        for (let k = 0; k < 3; k++) {
          for (let y = 0; y < height * 2; y++) {
            for (let x = 0; x < width * 2; x++) {
              out[k * width * height * 4 + y * width * 2 + x] = input[k * width * height + (y >> 1) * width + (x >> 1)]!
            }
          }
        }
        return out
      })
  })
)

/** Mean absolute difference per channel value. */
const error = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length
/** Mean squared difference per channel value. */
const meanSquared = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + (v - b[i]!) ** 2, 0) / a.length

describe("examples/07-upscale", () => {
  commandProperties({
    model: standIn,
    commands: Commands,
    config: { width: 16, height: 9 },
    expected: (commands) =>
      commands.reduce<Record<string, unknown>>(
        (state, { data, type }) =>
          type === "set_view" ? { ...state, view: data.view } : { ...state, amount: data.amount ?? 0.25 },
        { ...initial }
      )
  }, 25)

  it("offers the view as a select and the smoothing as a slider", () => {
    expect(Capabilities.toReactor(Capabilities.ofGroup(Commands))).toMatchObject([
      { name: "set_view", schema: { view: { type: "string", enum: [...views] } } },
      { name: "set_smoothing", schema: { amount: { type: "number", minimum: 0, maximum: 0.95, default: 0.25 } } }
    ])
  })

  it.prop("the shrink averages the camera pixels each small pixel covers", [
    FastCheck.integer({ min: 1, max: 12 }),
    FastCheck.integer({ min: 1, max: 8 }),
    FastCheck.integer({ min: 1, max: 4 }),
    FastCheck.integer({ min: 1, max: 4 })
  ], ([width, height, fx, fy]) => {
    const camera = Person.picture(width * fx, height * fy)
    const small = shrink(camera, width, height)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let k = 0; k < 3; k++) {
          let sum = 0
          for (let dy = 0; dy < fy; dy++) {
            for (let dx = 0; dx < fx; dx++) sum += camera.data[((y * fy + dy) * camera.width + x * fx + dx) * 3 + k]!
          }
          expect(Math.abs(small.data[(y * width + x) * 3 + k]! - sum / (fx * fy))).toBeLessThanOrEqual(0.5)
        }
      }
    }
  }, { fastCheck: { numRuns: 30 } })

  it.prop("bilinear and blocks are twice the size; a flat picture stays flat; blocks repeat each pixel 2x2", [
    FastCheck.integer({ min: 1, max: 20 }),
    FastCheck.integer({ min: 1, max: 20 }),
    FastCheck.integer({ min: 0, max: 255 })
  ], ([width, height, value]) => {
    const flat = { width, height, data: new Uint8Array(width * height * 3).fill(value) }
    expect(bilinear(flat)).toEqual({
      width: width * 2,
      height: height * 2,
      data: new Uint8Array(width * height * 12).fill(value)
    })
    const small = Person.picture(width, height)
    const big = blocks(small)
    for (let y = 0; y < height * 2; y++) {
      for (let x = 0; x < width * 2; x++) {
        expect(big.data.subarray((y * width * 2 + x) * 3, (y * width * 2 + x) * 3 + 3))
          .toEqual(small.data.subarray(((y >> 1) * width + (x >> 1)) * 3, ((y >> 1) * width + (x >> 1)) * 3 + 3))
      }
    }
  })

  it.prop("the memory moves toward each new picture by 1 - amount, and starts as the first picture", [
    FastCheck.array(FastCheck.float({ min: 0, max: 255, noNaN: true }), { minLength: 3, maxLength: 30 }),
    FastCheck.array(FastCheck.float({ min: 0, max: 255, noNaN: true }), { minLength: 3, maxLength: 30 }),
    FastCheck.double({ min: 0, max: 0.95, noNaN: true })
  ], ([a, b, amount]) => {
    const n = Math.min(a.length, b.length)
    const first = Float32Array.from(a.slice(0, n))
    const second = Float32Array.from(b.slice(0, n))
    const memory = remember(undefined, first, amount)
    expect(memory).toEqual(first)
    expect(memory).not.toBe(first)
    remember(memory, second, amount)
    memory.forEach((v, i) => expect(Math.abs(v - (first[i]! * amount + second[i]! * (1 - amount)))).toBeLessThan(1e-3))
  })

  it("toFrame rounds and clamps the network's planar output into RGB", () => {
    const planes = Float32Array.from([-5, 0.4, 254.6, 300, 10, 20, 30, 40, 1, 2, 3, 4])
    expect(Array.from(toFrame(planes, 2, 2).data)).toEqual([0, 10, 1, 0, 20, 2, 255, 30, 3, 255, 40, 4])
    expect(Array.from(toInput({ width: 2, height: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) })))
      .toEqual([1, 4, 2, 5, 3, 6])
  })

  it("side by side: the left half of one picture, the right half of the other, a white line between", () => {
    const left = { width: 8, height: 2, data: new Uint8Array(48).fill(10) }
    const right = { width: 8, height: 2, data: new Uint8Array(48).fill(20) }
    const both = sideBySide(left, right)
    // Pixels 0-2 from the left, 3-4 the line, 5-7 from the right; both rows alike.
    const row = [...Array(9).fill(10), ...Array(6).fill(255), ...Array(9).fill(20)]
    expect(Array.from(both.data)).toEqual([...row, ...row])
  })

  it.live("each session keeps its own memory: a second viewer's first picture is not blended with the first's", () =>
    Effect.gen(function*() {
      const [width, height] = [32, 18]
      const person = Person.picture(160, 90)
      const room = Person.picture(160, 90, false)
      /** The next output of `session` made from the picture pushed now (the stand-in draws 2x2 blocks). */
      const output = (session: ModelTest.TestSession, picture: Frame) =>
        Effect.gen(function*() {
          yield* session.pushInput("webcam", { ...picture, data: picture.data.slice() })
          for (;;) {
            const { frame } = yield* session.frame
            if (frame.data.subarray(0, 48).some((v) => v !== 30 && v !== 70)) return frame
          }
        })
      yield* Effect.gen(function*() {
        const first = yield* ModelTest.start()
        const second = yield* ModelTest.start()
        for (const session of [first, second]) yield* session.send({ type: "set_smoothing", data: { amount: 0.5 } })
        yield* output(first, person)
        // The second session's memory is empty: its first picture is the room alone, exactly.
        expect(yield* output(second, room)).toEqual(blocks(shrink(room, width, height)))
        // The first session's memory holds the person: the room comes in half way.
        const blended = yield* output(first, room)
        const [p, r] = [blocks(shrink(person, width, height)).data, blocks(shrink(room, width, height)).data]
        blended.data.forEach((v, i) => expect(Math.abs(v - (p[i]! + r[i]!) / 2)).toBeLessThanOrEqual(1))
        expect(error(blended.data, r)).toBeGreaterThan(1)
      }).pipe(
        Effect.provide(ModelTest.layer(standIn, { config: { width, height }, reactor: { maxSessions: 2 } })),
        Effect.scoped
      )
    }))

  it.live("a network file that is not there fails the model's load, naming the path", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        ModelTest.run(model, () => Effect.void, { config: { modelPath: "/nowhere/sr.onnx" } })
      )
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain(
        "cannot load the network from /nowhere/sr.onnx"
      )
    }))

  it.live(
    "draws the small picture closer to the full-size camera than a bilinear upscale does: the trained network ran",
    () =>
      ModelTest.run(model, (session) =>
        Effect.gen(function*() {
          const [width, height] = [128, 72]
          // The reference: the drawn person as a 256x144 camera would see it (area-averaged from 640x360); the
          // camera sends it at 640x360, the model shrinks it to 128x72 and draws it at 256x144 again.
          const camera = Person.picture(640, 360)
          const reference = shrink(camera, width * 2, height * 2)
          expect((yield* session.frame).frame).toEqual(waiting(width * 2, height * 2, 0))
          /** The next output made from the camera frame pushed now. */
          const output = (picture: Frame) =>
            Effect.gen(function*() {
              yield* session.pushInput("webcam", { ...picture, data: picture.data.slice() })
              for (;;) {
                const { frame } = yield* session.frame
                // The waiting pattern has only two values, 30 and 70.
                if (frame.data.subarray(0, 48).some((v) => v !== 30 && v !== 70)) return frame
              }
            })
          yield* session.send({ type: "set_smoothing", data: { amount: 0 } })
          const sharp = yield* output(camera)
          const small = shrink(camera, width, height)
          const smooth = bilinear(small)
          expect([sharp.width, sharp.height]).toEqual([256, 144])
          // Over the whole picture the network's squared error is lower than bilinear interpolation's (measured:
          // 35.2 against 38.1), and on the edges, where interpolation blurs (pixels it misses by more than 4 levels),
          // its error is lower too (17.6 against 19.2 levels). Repeating the small pixels does worse overall.
          expect(meanSquared(sharp.data, reference.data)).toBeLessThan(0.97 * meanSquared(smooth.data, reference.data))
          const edges = Array.from(reference.data.keys()).filter((i) =>
            Math.abs(smooth.data[i]! - reference.data[i]!) > 4
          )
          expect(edges.length).toBeGreaterThan(1000)
          const onEdges = (frame: Frame) =>
            edges.reduce((sum, i) => sum + Math.abs(frame.data[i]! - reference.data[i]!), 0) / edges.length
          expect(onEdges(sharp)).toBeLessThan(0.95 * onEdges(smooth))
          expect(meanSquared(blocks(small).data, reference.data)).toBeGreaterThan(
            meanSquared(sharp.data, reference.data)
          )

          // The bilinear view is the baseline itself; the input view the small picture in 2x2 blocks.
          yield* session.send({ type: "set_view", data: { view: "bilinear" } })
          expect(yield* output(camera)).toEqual(smooth)
          yield* session.send({ type: "set_view", data: { view: "input" } })
          expect(yield* output(camera)).toEqual(blocks(small))

          // The memory: with smoothing, a room without the person comes in gradually, each picture a step closer.
          yield* session.send({ type: "set_view", data: { view: "network" } })
          const room = Person.picture(640, 360, false)
          const roomAlone = yield* output(room) // smoothing 0: the memory is this picture
          yield* output(camera) // and now the person again
          yield* session.send({ type: "set_smoothing", data: { amount: 0.5 } })
          const steps = [yield* output(room), yield* output(room), yield* output(room)]
          const distances = steps.map((frame) => error(frame.data, roomAlone.data))
          expect(distances[0]!).toBeGreaterThan(distances[1]!)
          expect(distances[1]!).toBeGreaterThan(distances[2]!)
          expect(distances[0]!).toBeGreaterThan(0.5)
        })),
    120_000
  )
})
