import { describe, expect, it } from "@effect/vitest"
import { Console, Effect, Fiber, Layer, Logger, Stream, TestClock } from "effect"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Headless from "../../src/cli/Headless.js"
import * as Command from "../../src/model/Command.js"
import * as Frame from "../../src/model/Frame.js"
import * as Model from "../../src/model/Model.js"
import { SessionContext } from "../../src/model/SessionContext.js"
import * as EndReason from "../../src/protocol/EndReason.js"
import * as Reactor from "../../src/session/Reactor.js"
import { model as fixture } from "../fixtures/cli-released.js"

/** Runs a headless session of the fixture in-process, capturing what it prints and what it logs. */
const headless = (
  options: Headless.Options,
  config: Record<string, unknown> = {},
  model: Layer.Layer<Model.Model, unknown, Model.ConfigInput> = fixture
) =>
  Effect.gen(function*() {
    const printed: Array<string> = []
    const logged: Array<string> = []
    const base = yield* Effect.console
    const print = (...args: ReadonlyArray<unknown>) => {
      printed.push(...args.map(String).join(" ").split("\n"))
    }
    const console: Console.Console = { ...base, log: (...args) => Effect.sync(() => print(...args)) }
    const layer = Reactor.layer({ maxSessions: 1 }).pipe(
      Layer.provide(model),
      Layer.provide(Model.ConfigInput.layer({ source: "test", value: config })),
      Layer.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => logged.push(String(message)))))
    )
    const fiber = yield* Headless.run(options).pipe(
      Effect.provide(layer),
      Effect.withConsole(console),
      Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => logged.push(String(message))))),
      Effect.fork
    )
    return { fiber, printed, logged }
  })

describe("Headless.run", () => {
  it.live("answers each line, keeps going after bad ones, and stops after --frames", () =>
    Effect.gen(function*() {
      const { fiber, logged, printed } = yield* headless({
        frames: 20,
        statsEvery: 0,
        input: Stream.make(
          "set_level level=3",
          "{nope",
          "set_level level=-1",
          "help",
          "crash extra=1",
          "set_level level=4"
        )
      })
      const reason = yield* Fiber.join(fiber)
      expect(reason).toEqual(EndReason.Stopped({ by: "--frames 20 reached" }))
      expect(Headless.isClean(reason)).toBe(true)
      expect(printed.filter((line) => /^(ok|error) /.test(line))).toEqual([
        expect.stringMatching(/^ok set_level \(from frame \d+\)$/),
        expect.stringMatching(/^error invalid_json: /),
        `error invalid_payload: invalid payload for "set_level": level: Expected a number between 0 and 255, actual -1`,
        expect.stringMatching(/^error invalid_payload: invalid payload for "crash": extra: is unexpected/),
        expect.stringMatching(/^ok set_level \(from frame \d+\)$/)
      ])
      expect(printed.filter((line) => line === "Commands of cli-released:")).toHaveLength(2)
      expect(printed.at(-1)).toBe("session ended: stopped (--frames 20 reached)")
      expect(printed.at(-2)).toMatch(
        /^stats: \d+ frames, \d+ fps, 0 dropped, command-to-frame \d+ ms, commands 2 applied \/ 2 rejected/
      )
      expect(logged).toContain("released")
    }))

  it.live("stops at end of input without limits; a model failure is not a clean end", () =>
    Effect.gen(function*() {
      const ended = yield* headless({ statsEvery: 0, input: Stream.make("set_level level=1") })
      expect(yield* Fiber.join(ended.fiber)).toEqual(EndReason.Stopped({ by: "end of input" }))

      const failed = yield* headless({ statsEvery: 0, frames: 1_000_000, input: Stream.make("crash") })
      const reason = yield* Fiber.join(failed.fiber)
      expect(reason).toEqual(EndReason.ModelFailed({ error: "crashed on request" }))
      expect(Headless.isClean(reason)).toBe(false)
      expect(failed.printed.at(-1)).toBe("session ended: model failed: crashed on request")
      expect(failed.logged).toContain("released")
    }))

  it.live("an interruption (a signal) stops the session cooperatively and prints why", () =>
    Effect.gen(function*() {
      const { fiber, logged, printed } = yield* headless({ statsEvery: 0, input: Stream.never })
      while (!printed.some((line) => /^session \S+ started$/.test(line))) yield* Effect.sleep(5)
      yield* Fiber.interrupt(fiber)
      expect(printed.at(-1)).toBe("session ended: stopped (signal)")
      expect(logged).toContain("released")
    }))

  it.effect("prints stats periodically and writes every Nth frame as a PNG (TestClock time)", () =>
    Effect.gen(function*() {
      const out = mkdtempSync(join(tmpdir(), "cli-headless-"))
      const { fiber, printed } = yield* headless(
        { statsEvery: 0.1, seconds: 0.4, out, every: 2, input: Stream.empty },
        { fps: 100 }
      )
      // Time moves once the run has set up its timers: the model's frame sleep, the stats schedule and the --seconds
      // limit (its set-up awaits real I/O first: loading the PNG encoder).
      const realPause = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      while ((yield* TestClock.sleeps()).length < 3) yield* realPause
      for (let step = 0; step < 4; step++) yield* TestClock.adjust(100)
      expect(yield* Fiber.join(fiber)).toEqual(EndReason.Stopped({ by: "--seconds 0.4 elapsed" }))
      // A line at 100, 200 and 300 ms of test time (and maybe at 400, as the run stops), then the final one.
      expect(printed.filter((line) => line.startsWith("stats: ")).length).toBeGreaterThanOrEqual(4)
      const files = readdirSync(out)
      expect(files.length).toBeGreaterThan(0)
      expect(files.every((name) => Number(name.slice(6, 12)) % 2 === 0)).toBe(true)
      expect(printed).toContain(`${files.length} frames written to ${out}`)
    }))

  it.live("counts every frame written, also when the run ends right after a frame", () =>
    Effect.gen(function*() {
      // A loop that returns right after its last frame: the session ends while frames are on their way to disk.
      const burst = Model.make({
        name: "burst",
        commands: Command.group(),
        session: (_) =>
          Effect.succeed({
            handlers: {},
            run: Effect.flatMap(SessionContext, (ctx) =>
              Effect.forEach(
                Array.from({ length: 6 }, (_, i) => i),
                (i) =>
                  Effect.zipRight(
                    ctx.emit(Frame.make(96, 64, new Uint8Array(96 * 64 * 3).fill(i * 40))),
                    Effect.yieldNow()
                  ),
                { discard: true }
              ))
          })
      })
      const out = mkdtempSync(join(tmpdir(), "cli-headless-"))
      const { fiber, printed } = yield* headless({ statsEvery: 0, out, input: Stream.never }, {}, burst)
      expect(yield* Fiber.join(fiber)).toEqual(EndReason.ModelFinished())
      // The count printed is the count on disk: the frames still buffered when the session ended were written first.
      const files = readdirSync(out)
      expect(files.length).toBeGreaterThan(0)
      expect(printed).toContain(`${files.length} frames written to ${out}`)
    }))
})

describe("Headless.run, typed replies and state", () => {
  it.live("prints a command's reply and a refusal's own code; the state's setters are commands", () =>
    Effect.gen(function*() {
      const { model } = yield* Effect.promise(() => import("../fixtures/viewers-model.js"))
      const { fiber, printed } = yield* headless(
        {
          frames: 12,
          statsEvery: 0,
          input: Stream.make("set_brightness brightness=90", "describe", "spend", "spend", "spend")
        },
        {},
        model
      )
      yield* Fiber.join(fiber)
      expect(printed.filter((line) => /^(ok|error) /.test(line))).toEqual([
        expect.stringMatching(/^ok set_brightness \(from frame \d+\)$/),
        expect.stringMatching(
          /^ok describe \(from frame \d+\): \{"brightness":90,"pattern":"plain","viewers":0,"started":true\}$/
        ),
        expect.stringMatching(/^ok spend \(from frame \d+\): \{"left":1,"note":""\}$/),
        expect.stringMatching(/^ok spend \(from frame \d+\): \{"left":0,"note":""\}$/),
        "error quota_exceeded: No credits remain for this session."
      ])
    }))
})
