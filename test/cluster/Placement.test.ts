import { describe, expect, it } from "vitest"
import * as Placement from "../../src/cluster/Placement.js"

const runner = (id: string, load: number, capacity = 2, model = "m", draining = false): Placement.Candidate => ({
  id,
  model,
  capacity,
  draining,
  load
})

describe("Placement.choose", () => {
  it("takes the least loaded runner of the model with room, by share of capacity", () => {
    expect(Placement.choose("m", [runner("a", 1), runner("b", 0), runner("c", 0, 2, "other")])).toMatchObject({
      _tag: "Placed",
      runner: { id: "b" }
    })
    expect(Placement.choose("m", [runner("a", 2, 4), runner("b", 1, 1)])).toMatchObject({ runner: { id: "a" } })
    // ties go to the lowest id: deterministic
    expect(Placement.choose("m", [runner("b", 0), runner("a", 0)])).toMatchObject({ runner: { id: "a" } })
  })

  it("never goes above capacity: a full cluster is NoCapacity with its figures", () => {
    expect(Placement.choose("m", [runner("a", 2), runner("b", 3, 3)])).toEqual({
      _tag: "NoCapacity",
      runners: 2,
      capacity: 5,
      load: 5
    })
  })

  it("skips draining runners, and names the models served when none serves this one", () => {
    expect(Placement.choose("m", [runner("a", 0, 2, "m", true), runner("b", 2)])).toMatchObject({ _tag: "NoCapacity" })
    expect(Placement.choose("x", [runner("a", 0, 2, "m"), runner("b", 0, 2, "n"), runner("c", 0, 2, "o", true)]))
      .toEqual({ _tag: "NoRunner", models: ["m", "n"] })
    expect(Placement.choose("x", [])).toEqual({ _tag: "NoRunner", models: [] })
  })
})
