/**
 * The errors a command can earn its sender. They cross the wire, so they are schemas; each has a `code` and a human
 * `message` saying exactly what was wrong.
 */
import { Schema } from "effect"
import * as WireError from "./WireError.js"

/** The error's `code` as a schema field with its one value as the constructor's default: it is encoded like the rest. */
const coded = <C extends string>(code: C) =>
  Schema.Literal(code).pipe(Schema.propertySignature, Schema.withConstructorDefault(() => code))

const Issue = Schema.Struct({ path: Schema.String, message: Schema.String })

/** The message is not a command: not an object with a string `type`. */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>()("InvalidMessage", {
  code: coded("invalid_message"),
  message: Schema.String
}) {
}

/** No command of that name; `known` lists the ones there are. */
export class UnknownCommand extends Schema.TaggedError<UnknownCommand>()("UnknownCommand", {
  code: coded("unknown_command"),
  command: Schema.String,
  known: Schema.Array(Schema.String),
  message: Schema.String
}) {
  static readonly of = (command: string, known: ReadonlyArray<string>) =>
    new UnknownCommand({
      command,
      known,
      message: `unknown command ${JSON.stringify(command)}; known commands: ${known.join(", ")}`
    })
}

/** The payload does not match the command's schema; `issues` give each field path and what was expected. */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  code: coded("invalid_payload"),
  command: Schema.String,
  issues: Schema.Array(Issue),
  message: Schema.String
}) {
  static readonly of = (command: string, issues: ReadonlyArray<{ path: string; message: string }>) =>
    new InvalidPayload({
      command,
      issues,
      message: `invalid payload for "${command}": ` +
        issues.map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`)).join("; ")
    })
}

/** The command's handler failed or died; the session goes on. */
export class HandlerFailed extends Schema.TaggedError<HandlerFailed>()("HandlerFailed", {
  code: coded("handler_failed"),
  command: Schema.String,
  message: Schema.String
}) {
}

/**
 * The handler refused the command with a code of the model's own (Reactor's `CommandError(code, message)`): both go to
 * the sender unchanged, so write the message for the client. `Command.refuse(code, message)` raises it.
 */
export class Refused extends Schema.TaggedError<Refused>()("Refused", {
  code: Schema.String,
  command: Schema.String,
  message: Schema.String
}) {
}

/** The session has ended (or is ending): the command was not applied. */
export class SessionClosed extends Schema.TaggedError<SessionClosed>()("SessionClosed", {
  code: coded("session_closed"),
  message: Schema.String
}) {
}

/** Any error a submitted command can get. */
export type CommandError =
  | InvalidMessage
  | UnknownCommand
  | InvalidPayload
  | HandlerFailed
  | Refused
  | SessionClosed

/** The schema of every command error, for clients that decode them. */
export const CommandError = Schema.Union(
  InvalidMessage,
  UnknownCommand,
  InvalidPayload,
  HandlerFailed,
  Refused,
  SessionClosed
)

/** The plain wire object of an error: `{code, message, ...fields}` without the tag (`WireError.toWire`). */
export const toWire = (error: CommandError): Record<string, unknown> => WireError.toWire(error)
