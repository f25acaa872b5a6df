/**
 * A command that was applied: what its sender gets back on every path (the WebSocket's `commandAck`, the RPC
 * transport's success value, a model host's answer to the server).
 */
import { Schema } from "effect"

/** An applied command. */
export const Ack = Schema.Struct({
  /** The command's name. */
  command: Schema.String,
  /** The id the client chose for it, echoed. */
  id: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  /** Index of the first frame generated after its handler ran. */
  frame: Schema.Number,
  /** When the session received the command (epoch ms). */
  receivedAt: Schema.Number,
  /**
   * The handler's reply, encoded with the command's `success` schema (JSON): present only for a command declared
   * with one (`Command.make(name, { success })`).
   */
  result: Schema.optionalWith(Schema.Unknown, { exact: true })
})
export type Ack = typeof Ack.Type
