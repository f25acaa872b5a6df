/**
 * The typed client's wire contract, shared by the RPC transport (server) and `ReactorClient` (client): a model's
 * command group mapped to RPCs that answer an `Ack` or a `CommandError`, merged with the runtime's own RPCs (the frame
 * stream). Both sides must build their group with `groupFor`, so they agree on every schema.
 *
 * Command payloads are not validated by `@effect/rpc` (an invalid payload there is a defect, not an error): they
 * travel in their encoded form and the session's mailbox validates them like on every other transport, so an
 * out-of-range value earns the typed `InvalidPayload` error with the same message.
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Either, ParseResult, Schema } from "effect"
import * as AckSchema from "./Ack.js"
import * as CommandError from "./CommandError.js"
import * as WireError from "./WireError.js"

/**
 * Why a command was not applied: the session's `CommandError`, or a `WireError` from the connection (`rate_limited`,
 * `nesting_too_deep`, `too_many_requests`, `internal_error`).
 */
export const CommandFailure = Schema.Union(CommandError.CommandError, WireError.WireError)
export type CommandFailure = typeof CommandFailure.Type

/** A command was applied: `frame` is the index of the first frame generated after its handler ran. */
export const Ack = AckSchema.Ack
export type Ack = AckSchema.Ack

/** The frame codecs of the frame stream. */
export const Codec = Schema.Literal("rgb", "jpeg")
export type Codec = typeof Codec.Type

/** One video frame as the frame stream delivers it. */
export const FrameMessage = Schema.Struct({
  /** 0-based index of the frame in the session (gaps are frames dropped for this subscriber). */
  index: Schema.Number,
  width: Schema.Number,
  height: Schema.Number,
  /** When the model emitted the frame's block (epoch ms). */
  capturedAt: Schema.Number,
  codec: Codec,
  /** Raw RGB (`width * height * 3` bytes, row-major) or a JPEG file. */
  bytes: Schema.Uint8ArrayFromSelf,
  /** Frames this subscription has dropped so far: its reader was too slow, or the frame was over `maxFrameBytes`. */
  dropped: Schema.Number
})
export type FrameMessage = typeof FrameMessage.Type

/** Options of a frame subscription. */
export const FramesOptions = Schema.Struct({
  /** `rgb` (default) sends raw pixels; `jpeg` compresses them first (smaller, lossy). */
  format: Schema.optionalWith(Codec, { exact: true }),
  /** JPEG quality, 1-100 (default 80). */
  quality: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 100)), { exact: true }),
  /** Frames buffered for this subscriber before the oldest is dropped (default 8). */
  buffer: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 256)), { exact: true })
})
export type FramesOptions = typeof FramesOptions.Type

/** The runtime's frame stream: frames of the session from now on, dropping the oldest for a slow reader. */
export const Frames = Rpc.make("reactor.frames", {
  payload: FramesOptions,
  success: FrameMessage,
  stream: true
})
export type Frames = typeof Frames

/** The runtime's RPCs, merged into every served group. Their tags start with `reactor.`. */
export const Runtime = RpcGroup.make(Frames)

/** What a caller passes for a payload: the constructor input (defaulted fields optional; none at all when all are). */
export type PayloadInput<P> = P extends { readonly fields: Schema.Struct.Fields } ?
  {} extends Schema.Struct.Constructor<P["fields"]> ? void | Schema.Simplify<Schema.Struct.Constructor<P["fields"]>>
  : Schema.Simplify<Schema.Struct.Constructor<P["fields"]>>
  : P extends Schema.Schema.Any ? Schema.Schema.Type<P>
  : never

/** The ack of a command declared with a reply: its `result` typed by the command's success schema. */
export type AckWith<S extends Schema.Schema.Any> = [Schema.Schema.Type<S>] extends [void] ? Ack
  : Omit<Ack, "result"> & { readonly result: Schema.Schema.Type<S> }

/**
 * A command RPC as served: same tag, loose payload, `Ack` on success (with the typed `result` of a command declared
 * with a success schema), `CommandError` on failure.
 */
export type CommandRpc<R> = R extends Rpc.Rpc<infer Tag, infer Payload, infer Success, any, any> ? Rpc.Rpc<
    Tag,
    Schema.Schema<PayloadInput<Payload>, unknown>,
    Schema.Schema<AckWith<Success>, unknown>,
    typeof CommandFailure
  >
  : never

/** Every RPC of the served group of a command group `G`. */
export type RpcsFor<G> = CommandRpc<RpcGroup.Rpcs<G>> | Frames

/**
 * The payload schema a command travels with. Encoding applies the payload's defaults and encodes it with the
 * command's schema when the value is valid; an invalid value goes as it is, for the session to reject with a typed
 * error. Decoding passes the wire value through untouched: the session's mailbox decodes and validates it.
 */
const loosePayload = (schema: Schema.Schema.AnyNoContext): Schema.Schema<unknown, unknown> => {
  const make = (schema as { readonly make?: (value: unknown, options?: Schema.MakeOptions) => unknown }).make
  const encode = ParseResult.encodeUnknownEither(schema)
  return Schema.transform(Schema.Unknown, Schema.Unknown, {
    strict: true,
    decode: (wire) => wire,
    encode: (value) => {
      let input: unknown = value === undefined || value === null ? {} : value
      if (typeof make === "function") {
        try {
          input = make.call(schema, input, { disableValidation: true })
        } catch {
          // not constructible: send it as given
        }
      }
      const encoded = encode(input)
      return Either.isRight(encoded) ? encoded.right : input
    }
  }).annotations({ identifier: "CommandPayload" })
}

/**
 * The reply a command's ack carries. The server has it encoded already (the session's mailbox encoded it with the
 * command's schema), so encoding passes it through; the client decodes it with the command's schema, typed.
 */
const replyResult = (schema: Schema.Schema.AnyNoContext): Schema.Schema<unknown, unknown> =>
  Schema.transformOrFail(Schema.Unknown, Schema.Unknown, {
    strict: true,
    decode: (wire) => ParseResult.decodeUnknown(schema)(wire),
    encode: (value) => ParseResult.succeed(value)
  }).annotations({ identifier: "CommandReply" })

/** The success schema of one command RPC: the plain `Ack`, or the `Ack` with its typed `result`. */
const successOf = (rpc: Rpc.AnyWithProps): Schema.Schema.Any =>
  rpc.successSchema.ast._tag === "VoidKeyword"
    ? Ack
    : Schema.Struct({ ...Ack.fields, result: replyResult(rpc.successSchema as Schema.Schema.AnyNoContext) })

const cache = new WeakMap<RpcGroup.RpcGroup<any>, RpcGroup.RpcGroup<any>>()

/**
 * The group served for a model's commands, and the one its typed client calls: each command with its errors and
 * its ack, plus the runtime's RPCs. Deterministic (and cached), so both sides derive the same schemas.
 */
export const groupFor = <R extends Rpc.Any>(
  commands: RpcGroup.RpcGroup<R>
): RpcGroup.RpcGroup<RpcsFor<RpcGroup.RpcGroup<R>>> => {
  const cached = cache.get(commands)
  if (cached !== undefined) return cached
  const rpcs: Array<Rpc.Any> = []
  for (const rpc of commands.requests.values() as Iterable<Rpc.AnyWithProps>) {
    if (rpc._tag.startsWith("reactor.")) throw new Error(`command "${rpc._tag}": the "reactor." prefix is reserved`)
    rpcs.push(
      Rpc.make(rpc._tag, {
        payload: loosePayload(rpc.payloadSchema as Schema.Schema.AnyNoContext),
        success: successOf(rpc),
        error: CommandFailure
      }).annotateContext(rpc.annotations)
    )
  }
  const group = RpcGroup.make(...rpcs).merge(Runtime)
  cache.set(commands, group)
  return group as any
}
