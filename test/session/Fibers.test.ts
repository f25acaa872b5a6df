/**
 * Fibers: a forked fiber that fails or dies logs why, with its cause; an interrupted one logs nothing.
 */
import { Cause, Effect, Fiber, Logger, type LogLevel } from "effect"
import { describe, expect, it } from "vitest"
import * as Fibers from "../../src/session/Fibers.js"

const capture = () => {
  const lines: Array<{ level: LogLevel.LogLevel; message: string; cause: string }> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    lines.push({
      level: logLevel,
      message: String(Array.isArray(message) ? message.join(" ") : message),
      cause: Cause.pretty(cause)
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("Fibers.forkScoped", () => {
  it("logs a defect and a failure with their causes", async () => {
    const { layer, lines } = capture()
    await Effect.runPromise(
      Effect.gen(function*() {
        const died = yield* Fibers.forkScoped("inbox", Effect.die(new RangeError("Maximum call stack size exceeded")))
        const failed = yield* Fibers.forkScoped("sender", Effect.fail("socket gone"))
        yield* Fiber.await(died)
        yield* Fiber.await(failed)
      }).pipe(Effect.scoped, Effect.provide(layer))
    )
    expect(lines.map((l) => l.message)).toEqual(["inbox failed", "sender failed"])
    expect(lines[0]!.level._tag).toBe("Error")
    expect(lines[0]!.cause).toContain("RangeError: Maximum call stack size exceeded")
    expect(lines[1]!.cause).toContain("socket gone")
  })

  it("logs nothing for a fiber interrupted when its scope closes", async () => {
    const { layer, lines } = capture()
    await Effect.runPromise(Fibers.forkScoped("idle", Effect.never).pipe(Effect.scoped, Effect.provide(layer)))
    expect(lines).toEqual([])
  })
})
