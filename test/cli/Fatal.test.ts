import { describe, expect, it } from "@effect/vitest"
import { ConfigError } from "effect"
import * as Fatal from "../../src/cli/Fatal.js"
import * as Model from "../../src/model/Model.js"
import * as Overrides from "../../src/model/Overrides.js"

describe("Fatal.describe", () => {
  it("puts a config error on one line, marking the keys that came from --model overrides", () => {
    const error = new Model.ConfigError({
      source: "c.yaml",
      issues: [
        { path: "fps", message: "Expected a number between 1 and 120, actual 500" },
        { path: "size.width", message: "Expected number,\n  actual \"wide\"" },
        { path: "", message: "bad" }
      ]
    })
    const { overrides } = Overrides.extract(["--model.size.width=wide"])
    expect(Fatal.describe(error, overrides)).toBe(
      "invalid config (c.yaml): fps: Expected a number between 1 and 120, actual 500; " +
        "size.width (from --model.size.width): Expected number, actual \"wide\"; (root): bad"
    )
  })

  it("flattens any other error's message to one line", () => {
    expect(Fatal.describe(new Model.LoadError({ model: "m", cause: new Error("no weights\nat /x") }))).toBe(
      "model \"m\" failed to load: no weights at /x"
    )
    expect(Fatal.describe({ message: "a\nb" })).toBe("a b")
    expect(Fatal.describe("plain")).toBe("plain")
  })

  it("names the environment variable of a bad setting", () => {
    const error = ConfigError.InvalidData(["REACTOR_PORT"], "expected an integer from 0 to 65535")
    expect(Fatal.describe(error)).toBe(
      "bad setting: Invalid data at REACTOR_PORT: \"expected an integer from 0 to 65535\""
    )
  })
})
