/**
 * 03: stopping and cleanup. Each block is a slow "diffusion": 20 denoising steps of a few ms from noise to an image.
 * A stop (the viewer leaves, `stop_session`, Ctrl-C) interrupts the loop between or inside steps; the log says at
 * which step it was noticed, and the resources are always released, whatever ended the session.
 * `npx tsx examples/03-stopping.ts`, then stop it and read the log.
 */
import { Clock, Effect, Ref, Schema } from "effect"
import { Command, Ctx, Frame, Model, Param, SessionContext } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

export const Commands = Command.group(
  Command.make("set_steps", {
    description: "Denoising steps per block: more is slower and smoother",
    payload: { steps: Param.int({ min: 1, max: 50, default: 20, description: "Steps per block" }) }
  }),
  Command.make("set_seed", {
    description: "Which image the noise settles into",
    payload: { seed: Param.int({ min: 0, max: 1_000_000, description: "Random seed" }) }
  })
)

export const Config = Schema.Struct({
  width: Param.int({ min: 16, max: 1920, default: 320, description: "Frame width" }),
  height: Param.int({ min: 16, max: 1080, default: 180, description: "Frame height" }),
  stepMs: Param.int({ min: 0, max: 1000, default: 4, description: "Simulated GPU time per denoising step (ms)" })
})

/** The image the noise settles into: soft color bands that depend on the seed. */
const target = (width: number, height: number, seed: number) => {
  const out = new Float32Array(width * height * 3)
  for (let i = 0; i < width * height; i++) {
    const x = (i % width) / width, y = Math.floor(i / width) / height
    for (let c = 0; c < 3; c++) out[i * 3 + c] = 128 + 127 * Math.sin(seed * 0.37 + c * 2.1 + 6 * x * (c + 1) - 4 * y)
  }
  return out
}

/** One denoising step: moves the latent 1/(steps left) of the way toward the target, in place. */
const denoise = (latent: Float32Array, goal: Float32Array, step: number, steps: number) => {
  const k = 1 / (steps - step)
  for (let i = 0; i < latent.length; i++) latent[i]! += (goal[i]! - latent[i]!) * k
}

/**
 * Decodes a latent to a frame as a Promise-based step (like a call into a native pipeline). It works in slices and
 * checks the session's AbortSignal between them, so a stop makes it give up early instead of finishing the image.
 */
const decode = (latent: Float32Array, width: number, height: number, signal: AbortSignal) =>
  new Promise<Frame.Frame | undefined>((resolve) => {
    const data = new Uint8Array(latent.length)
    const slice = (row: number): void => {
      if (signal.aborted) return resolve(undefined)
      for (let i = row * width * 3; i < Math.min(height, row + 45) * width * 3; i++) data[i] = latent[i]!
      if (row + 45 >= height) return resolve(Frame.make(width, height, data))
      setImmediate(() => slice(row + 45))
    }
    slice(0)
  })

export const model = Model.make(Commands, {
  name: "slow-diffusion",
  description: "A multi-step generator that stops mid-step and always cleans up",
  config: Config,
  frameSize: { width: 320, height: 180 },
  // Loaded once per process: released when the runtime shuts down, after every session has ended.
  load: () =>
    Effect.acquireRelease(
      Effect.log("loaded the pipeline").pipe(Effect.as({ name: "toy-unet" })),
      () => Effect.log("released the pipeline")
    ),
  session: ({ config, loaded }) =>
    Effect.gen(function*() {
      const ctx = yield* SessionContext
      const { height, width } = config
      const state = yield* Ref.make({ steps: 20, seed: 1 })
      const set = (patch: Partial<{ steps: number; seed: number }>) =>
        Effect.flatMap(Ref.updateAndGet(state, (s) => ({ ...s, ...patch })), (s) => ctx.send({ type: "state", ...s }))

      // A per-session resource: acquired when the session starts, released when it ends, however it ends.
      const latent = yield* Effect.acquireRelease(
        Effect.sync(() => new Float32Array(width * height * 3)).pipe(
          Effect.tap(Effect.log(`allocated the latent on ${loaded.name}`))
        ),
        (buffer) => Effect.log(`released the latent (${(buffer.byteLength / 1e6).toFixed(1)} MB)`)
      )
      // What the next block starts from (an autoregressive context): image and block number change together.
      const context = { previous: new Float32Array(latent.length), block: 0 }

      return {
        handlers: {
          set_steps: ({ steps }) => set({ steps }),
          set_seed: ({ seed }) => set({ seed })
        },
        run: Effect.gen(function*() {
          let at = "before the first block" // where the loop is, for the log when a stop interrupts it
          return yield* Effect.gen(function*() {
            // The simulated GPU keeps its own clock: each step ends `stepMs` after the previous one, whatever the
            // CPU spent in between (the target, the decode), so a block takes `steps x stepMs` as on a device.
            let gpu = yield* Clock.currentTimeMillis
            while (true) {
              const { seed, steps } = yield* Ref.get(state)
              const now = yield* Clock.currentTimeMillis
              if (now - gpu > steps * config.stepMs) gpu = now // a whole block behind: start afresh, do not rush
              const goal = target(width, height, seed + context.block * 0.05)
              for (let i = 0; i < latent.length; i++) latent[i] = context.previous[i]! * 0.5 + Math.random() * 128
              for (let step = 0; step < steps; step++) {
                at = `at step ${step + 1}/${steps} of block ${context.block}`
                denoise(latent, goal, step, steps)
                gpu += config.stepMs
                // The GPU's time; the fiber yields here and a stop can land.
                yield* Effect.sleep(Math.max(0, gpu - (yield* Clock.currentTimeMillis)))
              }
              at = `while decoding block ${context.block}`
              const frame = yield* Ctx.step((signal) => decode(latent, width, height, signal))
              if (frame === undefined) return // the signal was aborted: the session is stopping
              // A critical section: a stop waits for it (within the stop deadline) rather than leaving it half done.
              yield* Effect.uninterruptible(Effect.gen(function*() {
                context.previous.set(latent)
                yield* Effect.sleep(1) // e.g. a copy on the device
                context.block++
              }))
              at = `while emitting block ${context.block - 1}`
              yield* ctx.emit(frame)
            }
          }).pipe(Effect.onInterrupt(() => Effect.log(`stop noticed ${at}`)))
        }).pipe(Effect.ensuring(Effect.suspend(() => Effect.log(`generation ended after ${context.block} blocks`))))
      }
    })
})

export default model

runIfMain(import.meta, model)
