import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Ref } from "effect"
import { Commands, model } from "../../examples/03-stopping.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import { ModelTest } from "../../src/testing/index.js"
import { commandProperties } from "../fixtures/core-properties.js"

const config = { width: 32, height: 18, stepMs: 0 }

/** A logger that keeps the messages, to read what the example logged. */
const capture = Effect.map(Ref.make<ReadonlyArray<string>>([]), (lines) => ({
  lines,
  logger: Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => Effect.runSync(Ref.update(lines, (all) => [...all, [message].flat().join(" ")])))
  )
}))

describe("examples/03-stopping", () => {
  commandProperties({
    model,
    commands: Commands,
    config,
    advanceMs: 3,
    expected: (commands) =>
      commands.reduce(
        (state, { data, type }) =>
          type === "set_steps" ? { ...state, steps: data.steps ?? 20 } : { ...state, seed: data.seed },
        { steps: 20, seed: 1 }
      )
  })

  it.effect("a stop mid-generation is noticed at a step, and every resource is released", () =>
    Effect.gen(function*() {
      const { lines, logger } = yield* capture
      const layer = ModelTest.layer(model, { config: { ...config, stepMs: 5 }, logLevel: "Info" })
      yield* Effect.gen(function*() {
        const first = yield* ModelTest.start()
        yield* first.advance(150)
        expect(yield* first.stop).toEqual(EndReason.Stopped({ by: "test" }))
        const second = yield* ModelTest.start() // stopped when the reactor shuts down
        yield* second.advance(50)
      }).pipe(Effect.provide(layer), Effect.provide(logger), Effect.scoped)
      const log = yield* Ref.get(lines)
      const noticed = log.filter((line) => line.startsWith("stop noticed"))
      expect(noticed).toHaveLength(2)
      for (const line of noticed) {
        expect(line).toMatch(/^stop noticed (at step \d+\/20 of|while (decoding|emitting)) block \d+$/)
      }
      expect(log.filter((line) => line.startsWith("released the latent"))).toHaveLength(2)
      expect(log.filter((line) => line.startsWith("allocated the latent"))).toHaveLength(2)
      expect(log.at(-1)).toBe("released the pipeline")
      expect(log[0]).toBe("loaded the pipeline")
    }))
})
