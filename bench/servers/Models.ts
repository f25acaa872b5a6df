/**
 * The bench models: each benchmark job written as a model, for the runtime side. They do what the bare server does
 * with no runtime around it, through the model-author API only.
 */
import { Effect, Layer, Stream } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Frame from "../../src/model/Frame.js"
import * as Input from "../../src/model/Input.js"
import * as Model from "../../src/model/Model.js"
import * as Param from "../../src/model/Param.js"
import { SessionContext } from "../../src/model/SessionContext.js"
import * as ClockPixels from "../lib/ClockPixels.js"
import * as Wire from "../lib/Wire.js"
import { type Job, randomRgb } from "./Job.js"

/** One command, `set {value}`: the value lands in the state (and in the first pixel of stateful frames). */
export const Commands = Command.group(
  Command.make("set", {
    description: "Sets the state the frames show",
    payload: { value: Param.int({ min: 0, max: 0xffffff, description: "24-bit value, shown as the first pixel" }) }
  })
)

const sizeOf = (job: Job) =>
  job.job === "stream" || job.job === "generate" || job.job === "clock"
    ? { width: job.width, height: job.height }
    : { width: 16, height: 16 }

/** The model that does `job`. */
export const make = (job: Job): Layer.Layer<Model.Model, Model.ConfigError | Model.LoadError, Model.ConfigInput> =>
  Model.make({
    name: `bench-${job.job}`,
    version: "1",
    commands: Commands,
    frameSize: sizeOf(job),
    inputs: job.job === "mirror" || job.job === "camclock"
      ? { cam: Input.video({ description: "The client's frames", maxWidth: 1280, maxHeight: 720 }) }
      : {},
    session: () =>
      Effect.gen(function*() {
        const ctx = yield* SessionContext
        let state = 0
        const handlers = { set: ({ value }: { readonly value: number }) => Effect.sync(() => void (state = value)) }
        switch (job.job) {
          case "stream": {
            // Never sleeps: emits as fast as the pacer takes blocks, each frame in a fresh buffer (as `emit` asks: a
            // model host moves the buffer to the server without a copy).
            const pixels = randomRgb(job.width, job.height)
            return {
              handlers,
              run: Effect.forever(Effect.suspend(() => ctx.emit(Frame.make(job.width, job.height, pixels.slice()))))
            }
          }
          case "generate": {
            const period = 1000 / job.fps
            const shared = Frame.make(job.width, job.height, randomRgb(job.width, job.height))
            const block = () =>
              Array.from({ length: job.block }, () => {
                if (!job.stateful) return shared
                const data = new Uint8Array(job.width * job.height * 3)
                Wire.setFirstPixel(data, state)
                return Frame.make(job.width, job.height, data)
              })
            // Blocks on an absolute schedule, as a model generating at a steady rate.
            const run = Effect.gen(function*() {
              let next = performance.now()
              while (true) {
                yield* ctx.emit(block())
                next += period * job.block
                const now = performance.now()
                if (next < now - period * job.block) next = now
                if (next > now) yield* Effect.sleep(next - now)
              }
            })
            return { handlers, run }
          }
          case "clock": {
            // A fresh picture per frame (a scrolling gradient: every pixel changes, as a real model's do) with the
            // emission time in its clock row; blocks of one frame on an absolute schedule.
            const period = 1000 / job.fps
            const run = Effect.gen(function*() {
              let next = performance.now()
              let tick = 0
              while (true) {
                const data = ClockPixels.background(job.width, job.height, tick++)
                ClockPixels.draw(data, job.width, Date.now())
                yield* ctx.emit(Frame.make(job.width, job.height, data))
                next += period
                const now = performance.now()
                if (next < now - period) next = now
                if (next > now) yield* Effect.sleep(next - now)
              }
            })
            return { handlers, run }
          }
          case "spin":
            return {
              handlers,
              run: Effect.sync(() => {
                for (;;) state++
              })
            }
          case "burn": {
            const frame = Frame.make(16, 16, randomRgb(16, 16))
            // A fixed amount of plain arithmetic per step: the work a model in plain TypeScript does. Fixed work, not
            // fixed time, so that frames per second say how much CPU the model got.
            const step = Effect.sync(() => {
              let x = state
              for (let i = 0; i < job.work; i++) x = (x * 1103515245 + 12345) | 0
              state = x
            })
            return { handlers, run: Effect.forever(Effect.zipRight(step, ctx.emit(frame))) }
          }
          case "mirror": {
            // Every frame the model reads is answered at once: the time from the client's send to this message.
            yield* Stream.runForEach(ctx.input("cam").frames, (frame) =>
              ctx.send({ type: "seen", capturedAt: frame.capturedAt }))
              .pipe(Effect.forkScoped)
            return { handlers, run: Effect.never }
          }
          case "camclock": {
            // Each frame the model reads: how long ago the page drew it (same machine clock), as the model sees it.
            yield* Stream.runForEach(ctx.input("cam").frames, (frame) =>
              ctx.send({
                type: "input_age",
                age: ClockPixels.age(frame.data, frame.width, frame.height, job.drawnWidth) ?? null,
                index: frame.index,
                width: frame.width,
                height: frame.height
              }))
              .pipe(Effect.forkScoped)
            return { handlers, run: Effect.never }
          }
          case "echo":
          case "idle":
            return { handlers, run: Effect.never }
        }
      })
  })

/** The model layer with its config input (defaults). */
export const layer = (job: Job) => make(job).pipe(Layer.provide(Model.ConfigInput.empty))
