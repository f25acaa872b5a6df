import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { model } from "../../examples/01-prompt.js"
import * as Model from "../../src/model/Model.js"
import * as Server from "../../src/server/Server.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"

describe("examples/04-typed-client", () => {
  it.live("drives a session of the prompt model on a running server", () =>
    Effect.gen(function*() {
      const server = yield* Server.start(model, { host: "127.0.0.1", port: 0 })
      const { stdout } = yield* Effect.promise(() =>
        promisify(execFile)("npx", ["tsx", "examples/04-typed-client.ts", server.url], { timeout: subprocessMs })
      )
      expect(stdout).toContain("of prompt-art")
      expect(stdout).toMatch(/set_prompt applied before frame \d+/)
      expect(stdout).toContain(
        "refused: invalid payload for \"set_speed\": speed: Expected a number between 0 and 4, actual 9"
      )
      expect(stdout).toMatch(/60 frames of 320x180/)
      // the client stopped the session it started when its scope closed
      expect(yield* server.reactor.list).toHaveLength(0)
    }).pipe(Effect.scoped, Effect.provide(Model.ConfigInput.empty)), subprocessTestMs)
})
