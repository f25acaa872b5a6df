import type { Rpc } from "@effect/rpc"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Command from "../../src/model/Command.js"
import * as Client from "../../src/protocol/RpcContract.js"
import * as Fixture from "../fixtures/client-model.js"

const encodePayload = (tag: string, value: unknown) => {
  const rpc = Client.groupFor(Fixture.Commands).requests.get(tag) as unknown as Rpc.AnyWithProps
  return Schema.encodeUnknownSync(rpc.payloadSchema as Schema.Schema<unknown, unknown>)(value)
}

describe("Client.groupFor", () => {
  it("serves every command with its ack and its errors, plus the runtime's frame stream", () => {
    const group = Client.groupFor(Fixture.Commands)
    expect([...group.requests.keys()]).toEqual([...Fixture.Commands.requests.keys(), "reactor.frames"])
    const rpc = group.requests.get("set_speed") as unknown as Rpc.AnyWithProps
    expect(rpc.successSchema).toBe(Client.Ack)
    expect(rpc.errorSchema).toBe(Client.CommandFailure)
    // the command's annotations (description) carry over
    expect(rpc.annotations.unsafeMap.get(Command.Description.key)).toBe("How fast the animation moves")
  })

  it("is the same group on both sides (derived once per command group)", () => {
    expect(Client.groupFor(Fixture.Commands)).toBe(Client.groupFor(Fixture.Commands))
  })

  it("sends payloads encoded, defaults applied; an invalid value goes as is for the session to reject", () => {
    expect(encodePayload("set_speed", {})).toEqual({ speed: 1 })
    expect(encodePayload("set_speed", undefined)).toEqual({ speed: 1 })
    expect(encodePayload("set_speed", { speed: 2 })).toEqual({ speed: 2 })
    expect(encodePayload("set_speed", { speed: 10 })).toEqual({ speed: 10 })
    expect(encodePayload("reset", undefined)).toEqual({})
  })

  it("refuses commands in the runtime's reserved namespace", () => {
    const commands = Command.group(Command.make("reactor.stop", { description: "clashes" }))
    expect(() => Client.groupFor(commands)).toThrow(/reserved/)
  })
})
