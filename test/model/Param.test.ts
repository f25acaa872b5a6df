import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"
import * as Mailbox from "../../src/session/Mailbox.js"

const Commands = Command.group(
  Command.make("paint", {
    description: "Paint",
    payload: {
      colour: Param.literal(["red", "green", "blue"]),
      level: Param.int({ min: 0, max: 255, description: "a level from 0 to 255" })
    }
  })
)

const messageOf = (data: unknown) => {
  const decoded = Mailbox.decode(Commands, { type: "paint", data })
  if (Either.isRight(decoded)) throw new Error("decoded")
  return decoded.left.message
}

describe("Param", () => {
  it("a value outside a literal choice earns one message naming every allowed value", () => {
    const message = messageOf({ colour: "purple", level: 1 })
    expect(message).toBe(`invalid payload for "paint": colour: Expected "red" | "green" | "blue", actual "purple"`)
    expect(message.match(/Expected/g)).toHaveLength(1)
  })

  it("a bounded number says what it expected: the range, or the type for a wrong type", () => {
    expect(messageOf({ colour: "red", level: 300 })).toContain("level: Expected a number between 0 and 255, actual 300")
    expect(messageOf({ colour: "red", level: "high" })).toContain(`level: Expected number, actual "high"`)
  })
})
