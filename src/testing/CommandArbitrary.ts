/**
 * fast-check arbitraries of commands, derived from a model's command group: valid commands as a client would send
 * them (`{type, data}`, `data` in its encoded JSON form), and invalid ones of every kind that applies to the group,
 * each with the error the session must answer. Built on the fast-check copy that effect bundles, so they type-check
 * with `@effect/vitest`'s `it.prop` / `it.effect.prop`.
 */
import type * as Rpc from "@effect/rpc/Rpc"
import type * as RpcGroup from "@effect/rpc/RpcGroup"
import { Arbitrary, FastCheck, Schema } from "effect"
import * as Capabilities from "../model/Capabilities.js"

/** One command of a group as the wire carries it: its name and its payload in encoded (JSON) form. */
export type WireCommand<R> = R extends Rpc.Rpc<infer Tag, infer Payload, any, any, any>
  ? { readonly type: Tag; readonly data: Schema.Schema.Encoded<Payload> }
  : never

/** The kinds of invalid command `invalid` generates. */
export type InvalidKind =
  | "wrong type"
  | "out of range"
  | "missing"
  | "extra"
  | "not an object"
  | "unknown command"
  | "not a command"

/** An invalid command and the error it must earn: which tag, for which command, naming which field. */
export interface Invalid {
  readonly kind: InvalidKind
  readonly command: { readonly type: unknown; readonly data?: unknown }
  readonly expected: {
    readonly _tag: "InvalidMessage" | "UnknownCommand" | "InvalidPayload"
    readonly command?: string
    readonly path?: string
  }
}

const rpcsOf = (group: RpcGroup.RpcGroup<any>) =>
  [...group.requests.entries()] as ReadonlyArray<readonly [string, Rpc.AnyWithProps]>

const payloadArbitrary = (rpc: Rpc.AnyWithProps) =>
  Arbitrary.make(Schema.encodedBoundSchema(rpc.payloadSchema as Schema.Schema<object, object>)) as FastCheck.Arbitrary<
    Record<string, unknown>
  >

/**
 * Valid commands of a group, or of the named commands only. Values follow the payload schemas (ranges, enums,
 * lengths); optional parameters are sometimes left out.
 */
export const valid = <R extends Rpc.Any, const Names extends Rpc.Tag<R> = Rpc.Tag<R>>(
  group: RpcGroup.RpcGroup<R>,
  ...names: ReadonlyArray<Names>
): FastCheck.Arbitrary<WireCommand<Rpc.ExtractTag<R, Names>>> => {
  const chosen = rpcsOf(group).filter(([type]) => names.length === 0 || (names as ReadonlyArray<string>).includes(type))
  if (chosen.length === 0) throw new Error(`CommandArbitrary.valid: the group has no command ${names.join(", ")}`)
  return FastCheck.oneof(...chosen.map(([type, rpc]) => payloadArbitrary(rpc).map((data) => ({ type, data })))) as any
}

const wrongTypeFor = (param: Capabilities.ParamSchema): FastCheck.Arbitrary<unknown> => {
  const others = [FastCheck.constant(null), FastCheck.constant([1]), FastCheck.constant({ value: 1 })]
  if (param.type === "string") return FastCheck.oneof(FastCheck.integer(), FastCheck.boolean(), ...others)
  if (param.type === "boolean") return FastCheck.oneof(FastCheck.string(), FastCheck.integer(), ...others)
  return FastCheck.oneof(FastCheck.string(), FastCheck.boolean(), ...others)
}

const outOfRangeFor = (param: Capabilities.ParamSchema, json: any): FastCheck.Arbitrary<unknown> | undefined => {
  const options: Array<FastCheck.Arbitrary<unknown>> = []
  const { maximum, minimum } = param
  if (minimum !== undefined) options.push(FastCheck.integer({ min: 1, max: 1e6 }).map((d) => minimum - d))
  if (maximum !== undefined) options.push(FastCheck.integer({ min: 1, max: 1e6 }).map((d) => maximum + d))
  if (param.type === "integer") {
    const low = minimum ?? 0
    const high = maximum ?? low + 10
    if (high - low >= 1) options.push(FastCheck.constant(low + 0.5))
  }
  if (param.enum !== undefined) {
    const known = new Set(param.enum)
    options.push(FastCheck.string().filter((s) => !known.has(s)))
  }
  if (typeof json?.maxLength === "number") {
    options.push(
      FastCheck.string({ minLength: json.maxLength + 1, maxLength: json.maxLength + 8, unit: "grapheme-ascii" })
    )
  }
  if (typeof json?.minLength === "number" && json.minLength > 0) {
    options.push(FastCheck.string({ maxLength: json.minLength - 1 }))
  }
  return options.length === 0 ? undefined : FastCheck.oneof(...options)
}

/**
 * Invalid commands of every kind that applies to the group (unknown names, non-commands, payloads that are not
 * objects, extra fields, and per parameter: wrong types, out-of-range values, missing required ones), each with the
 * error it must earn. The expectations come from the declared ranges and types, not from the validator.
 */
export const invalid = (group: RpcGroup.RpcGroup<any>): FastCheck.Arbitrary<Invalid> => {
  const names = new Set(group.requests.keys())
  const cases: Array<FastCheck.Arbitrary<Invalid>> = [
    FastCheck.string({ minLength: 1 }).filter((type) => !names.has(type)).map((type) => ({
      kind: "unknown command",
      command: { type, data: {} },
      expected: { _tag: "UnknownCommand", command: type }
    })),
    FastCheck.oneof(FastCheck.constant(""), FastCheck.integer(), FastCheck.constant(null), FastCheck.boolean()).map((
      type
    ) => ({ kind: "not a command", command: { type, data: {} }, expected: { _tag: "InvalidMessage" } }))
  ]
  for (const [type, rpc] of rpcsOf(group)) {
    const capability = Capabilities.ofCommand(rpc)
    const base = payloadArbitrary(rpc)
    const payloadError = (path: string) => ({ _tag: "InvalidPayload", command: type, path }) as const
    cases.push(
      FastCheck.tuple(base, FastCheck.stringMatching(/^[a-z_]{1,12}$/)).map(([data, key]) => {
        const extra = `x_${key}`
        return { kind: "extra", command: { type, data: { ...data, [extra]: 1 } }, expected: payloadError(extra) }
      }),
      FastCheck.oneof(
        FastCheck.string(),
        FastCheck.integer(),
        FastCheck.boolean(),
        FastCheck.array(FastCheck.integer())
      )
        .map((data) => ({
          kind: "not an object",
          command: { type, data },
          expected: { _tag: "InvalidPayload", command: type }
        }))
    )
    for (const [name, param] of Object.entries(capability.schema)) {
      cases.push(
        FastCheck.tuple(base, wrongTypeFor(param)).map(([data, value]) => ({
          kind: "wrong type",
          command: { type, data: { ...data, [name]: value } },
          expected: payloadError(name)
        }))
      )
      const outOfRange = outOfRangeFor(param, (capability.jsonSchema as any).properties?.[name])
      if (outOfRange !== undefined) {
        cases.push(
          FastCheck.tuple(base, outOfRange).map(([data, value]) => ({
            kind: "out of range",
            command: { type, data: { ...data, [name]: value } },
            expected: payloadError(name)
          }))
        )
      }
      if (param.required === true && param.default === undefined) {
        cases.push(base.map((data) => {
          const { [name]: _dropped, ...rest } = data
          return { kind: "missing", command: { type, data: rest }, expected: payloadError(name) }
        }))
      }
    }
  }
  return FastCheck.oneof(...cases)
}
