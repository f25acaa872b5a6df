import { describe, expect, it } from "vitest"
import * as EffectVersion from "../src/EffectVersion.js"

describe("EffectVersion", () => {
  it("accepts the Effect 3 releases the peer range allows", () => {
    expect(EffectVersion.problem("3.22.2", "^3.22.2")).toBeUndefined()
    expect(EffectVersion.problem("3.30.0", "^3.22.2")).toBeUndefined()
  })

  it("names the wanted and the found version of a wrong major, and how to fix it, on one line", () => {
    const message = EffectVersion.problem("4.1.0", "^3.22.2", "/app/node_modules/effect")
    expect(message).toBe(
      "effect-reactor: needs effect 3 (^3.22.2) but found effect 4.1.0 at /app/node_modules/effect; " +
        "install a 3.x release: npm install effect@\"^3.22.2\""
    )
    expect(EffectVersion.problem("2.4.19", "^3.22.2")).toContain("found effect 2.4.19")
  })

  it("refuses an Effect 3 release older than the range", () => {
    expect(EffectVersion.problem("3.21.9", "^3.22.2")).toContain("needs 3.22.2 or later but found effect 3.21.9")
    expect(EffectVersion.problem("3.22.1", "^3.22.2")).toContain("needs 3.22.2 or later")
  })

  it("says so when effect is not installed", () => {
    expect(EffectVersion.problem(undefined, "^3.22.2")).toContain("effect is not installed")
  })

  it("reads the range from package.json and finds the effect this repository installs", () => {
    expect(EffectVersion.requiredRange()).toMatch(/^\^3\.\d+\.\d+$/)
    const found = EffectVersion.installed()
    expect(found?.version).toMatch(/^3\./)
    expect(EffectVersion.problem(found?.version, EffectVersion.requiredRange())).toBeUndefined()
  })
})
