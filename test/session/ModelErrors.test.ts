import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import * as ModelErrors from "../../src/session/ModelErrors.js"

/** Runs `report`, capturing what it logs. */
const reported = (expose: boolean) =>
  Effect.gen(function*() {
    const logged: Array<string> = []
    const logger = Logger.make(({ message }) => {
      logged.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const text = yield* ModelErrors.report(expose, "the handler of \"x\" failed", "token=hunter2").pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
    return { text, logged }
  })

describe("ModelErrors.report", () => {
  it.effect("exposed: the client gets the model's text", () =>
    Effect.map(reported(true), ({ text }) => {
      expect(text).toBe("the handler of \"x\" failed: token=hunter2")
    }))

  it.effect("withheld: the client gets a reference, the log the full text under the same reference", () =>
    Effect.map(reported(false), ({ logged, text }) => {
      expect(text).not.toContain("hunter2")
      const ref = /error ref ([0-9a-f]{12})/.exec(text)?.[1]
      expect(ref).toBeDefined()
      expect(logged).toHaveLength(1)
      expect(logged[0]).toContain(ref)
      expect(logged[0]).toContain("token=hunter2")
    }))
})
