/**
 * examples/python/background.py: example 06's trained network (MediaPipe's selfie segmentation, the same ONNX file)
 * run by onnxruntime for Python in the model's own Python process. The drawn person (test/fixtures/person.ts) goes in
 * as the webcam; the output keeps the person's pixels and replaces the room's, which only the network can tell apart
 * (nothing on the runtime's side of the socket loads a network), and the frame is example 06's own for that picture
 * (byte for byte on this machine; the test allows 2 levels). Its commands are example 06's, to the schema.
 *
 * Needs onnxruntime for Python (examples/python/requirements.txt): skipped with a warning without it, failed in CI.
 */
import { Effect, Logger, LogLevel, Queue } from "effect"
import { resolve } from "node:path"
import * as ort from "onnxruntime-node"
import { beforeAll, describe, expect, it } from "vitest"
import {
  alphaOf,
  beach,
  blurred,
  composite,
  initial,
  model as typescript,
  side,
  toInput
} from "../../examples/06-background.js"
import * as PythonReactor from "../../src/host/python/PythonReactor.js"
import * as Capabilities from "../../src/model/Capabilities.js"
import type { Frame } from "../../src/model/Frame.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import { subprocessTestMs } from "../fixtures/bounds.js"
import * as Person from "../fixtures/person.js"
import * as PythonModules from "../fixtures/python-modules.js"

const onnxruntime = PythonModules.needs("onnxruntime")
if (!onnxruntime.run) console.warn(`test/examples/python-background.test.ts: skipped: ${onnxruntime.missing}`)

const module = resolve("examples/python/background.py")
const [width, height] = [640, 360]

const camera = Person.picture(width, height)
const drawn = Person.inside(width, height)
const onPerson = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && drawn(x, y)
// Pixels at least 12 px from the person's outline, on either side (the edge itself is blended).
const near = (x: number, y: number) =>
  [[-12, 0], [12, 0], [0, -12], [0, 12]].some(([dx, dy]) => onPerson(x + dx!, y + dy!) !== onPerson(x, y))
const person = (x: number, y: number) => onPerson(x, y) && !near(x, y)
const room = (x: number, y: number) => !onPerson(x, y) && !near(x, y)
const same = (pixel: Array<number>, i: number) => pixel.every((v, k) => Math.abs(v - camera.data[i + k]!) <= 2)
const green = (pixel: Array<number>) => pixel[0]! + Math.abs(pixel[1]! - 255) + pixel[2]! <= 6

/** Example 06's own output with `background`: its functions, and onnxruntime-node on the same ONNX file. */
const typescriptOutput = async (picture: Frame, background: Uint8Array): Promise<Frame> => {
  const network = await ort.InferenceSession.create(resolve("examples/models/selfie_segmentation.onnx"))
  try {
    const input = new ort.Tensor("float32", toInput(picture), [1, 3, side, side])
    const result = await network.run({ [network.inputNames[0]!]: input })
    const mask = result[network.outputNames[0]!]!.data as Float32Array
    return composite(picture, background, alphaOf(mask, picture.width, picture.height, initial))
  } finally {
    await network.release()
  }
}

describe.skipIf(!onnxruntime.run)(
  onnxruntime.run
    ? "examples/python/background.py: a trained network in the Python process"
    : `examples/python/background.py: skipped, ${onnxruntime.missing}`,
  () => {
    beforeAll(() => onnxruntime.ensure())

    it("declares example 06's commands: the same capabilities, from Python signatures", async () => {
      const declared = await PythonReactor.make({ module }).pipe(
        Effect.map((reactor) => reactor.model.capabilities),
        Effect.scoped,
        Logger.withMinimumLogLevel(LogLevel.None),
        Effect.runPromise
      )
      expect(Capabilities.toReactor(declared)).toEqual(Capabilities.toReactor(typescript.declared.capabilities))
    }, subprocessTestMs)

    it("a network file that is not there fails the model's load, naming the path", async () => {
      const error = await PythonReactor.make({
        module,
        config: { source: "test", value: { model_path: "/nowhere/net.onnx" } }
      }).pipe(Effect.flip, Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None), Effect.runPromise)
      expect(String((error as { message?: string }).message)).toContain(
        "cannot load the network from /nowhere/net.onnx"
      )
    }, subprocessTestMs)

    it("keeps the drawn person's pixels and replaces the room's: the network ran in Python", async () => {
      await Effect.gen(function*() {
        const reactor = yield* PythonReactor.make({ module })
        expect(reactor.model.inputs.webcam?.maxWidth).toBe(1280)
        const session = yield* reactor.start()
        const frames = yield* session.frames(8)
        const messages = yield* session.messages
        const send = (type: string, data: Record<string, unknown>) => Effect.orDie(session.submit({ type, data }))

        // Before the first camera frame: the waiting pattern (dark grey).
        const first = (yield* frames.take).frame
        expect([first.width, first.height, first.data[0], first.data[1]]).toEqual([width, height, 40, 40])

        /** The output made from the camera picture pushed now (the model answers each new camera frame once). */
        const output = (picture: Frame) =>
          Effect.gen(function*() {
            yield* session.pushInput("webcam", { ...picture, data: picture.data.slice() })
            for (;;) {
              const { frame } = yield* frames.take
              if (frame.data[0] !== 40 || frame.data[1] !== 40) return frame
            }
          })

        yield* send("set_colour", { r: 0, g: 255, b: 0 })
        yield* send("set_mode", { mode: "colour" })
        // The model's state message after each command (sent from the Python method), up to the mode's.
        let state: any
        do state = yield* Queue.take(messages).pipe(
          Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => "no state" }),
          Effect.orDie
        )
        while (state?.mode !== "colour")
        expect(state).toEqual({
          type: "state",
          mode: "colour",
          colour: { r: 0, g: 255, b: 0 },
          threshold: 0.5,
          softness: 0.2
        })

        const replaced = yield* output(camera)
        expect(Person.share(replaced, person, same)).toBeGreaterThan(0.97)
        expect(Person.share(replaced, room, green)).toBeGreaterThan(0.97)
        // The same picture as example 06 makes from the same weights, edges included.
        const asExample06 = (frame: Frame, background: Uint8Array) =>
          Effect.map(
            Effect.promise(() => typescriptOutput(camera, background)),
            (expected) =>
              Person.share(
                frame,
                () => true,
                (pixel, i) => pixel.every((v, k) => Math.abs(v - expected.data[i + k]!) <= 2)
              )
          )
        const greenBackground = new Uint8Array(camera.data.length).map((_, i) => [0, 255, 0][i % 3]!)
        expect(yield* asExample06(replaced, greenBackground)).toBeGreaterThan(0.999)

        // A room with nobody in it: all of it replaced.
        const empty = yield* output(Person.picture(width, height, false))
        expect(Person.share(empty, () => true, green)).toBeGreaterThan(0.98)

        // The blur mode: example 06's blur (8x8 cell means spread back), the same bytes.
        yield* send("set_mode", { mode: "blur" })
        const blur = yield* output(camera)
        expect(yield* asExample06(blur, blurred(camera))).toBeGreaterThan(0.999)

        // The picture mode puts example 06's beach behind the person; none shows the camera as it is.
        yield* send("set_mode", { mode: "picture" })
        const onBeach = yield* output(camera)
        const sea = beach(width, height)
        expect(Person.share(onBeach, person, same)).toBeGreaterThan(0.97)
        expect(Person.share(onBeach, room, (pixel, i) => pixel.every((v, k) => Math.abs(v - sea[i + k]!) <= 2)))
          .toBeGreaterThan(0.97)

        yield* send("set_mode", { mode: "none" })
        expect((yield* output(camera)).data).toEqual(camera.data)
        expect((yield* session.stop(EndReason.Stopped({ by: "test" })))._tag).toBe("Stopped")
      }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.None), Effect.runPromise)
    }, subprocessTestMs)
  }
)
