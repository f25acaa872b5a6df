/**
 * One line of headless input, parsed into a command. Two forms are accepted: JSON as the wire carries it
 * (`{"type":"set_prompt","data":{"prompt":"a rainy night"}}`) and a human form (`set_prompt prompt="a rainy night"`),
 * whose values are typed by the command's parameter schema: numbers for number/integer parameters, `true`/`false` for
 * boolean ones, text for everything else. Validation is the session's job; this only reads the line.
 */
import { Data, Either } from "effect"
import * as fs from "node:fs"
import { basename } from "node:path"
import type * as Capabilities from "../model/Capabilities.js"
import * as Upload from "../model/Upload.js"
import type * as Mailbox from "../session/Mailbox.js"

/** What a line asks for. */
export type Line = Data.TaggedEnum<{
  /** A command to submit to the session. */
  Command: { readonly incoming: Mailbox.Incoming }
  /** `help`: print the command list. */
  Help: {}
  /** A blank line or a `#` comment. */
  Empty: {}
}>

export const { $match, Command, Empty, Help } = Data.taggedEnum<Line>()

/** A line that cannot be read; `code` is `invalid_json` or `invalid_line`, as the wire's error codes. */
export class LineError extends Data.TaggedError("LineError")<{
  readonly code: "invalid_json" | "invalid_line"
  readonly message: string
}> {}

const namePattern = /^[A-Za-z_][\w.-]*$/

const invalid = (message: string) => Either.left(new LineError({ code: "invalid_line", message }))

/** Splits `key=value` words, honouring double quotes (JSON escapes) and single quotes (literal). */
const tokenize = (
  text: string
): Either.Either<Array<{ readonly text: string; readonly quoted: boolean }>, LineError> => {
  const words: Array<{ text: string; quoted: boolean }> = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++
    if (i >= text.length) break
    let word = ""
    let quoted = false
    while (i < text.length && !/\s/.test(text[i]!)) {
      const char = text[i]!
      if (char === "\"") {
        let end = i + 1
        while (end < text.length && text[end] !== "\"") end += text[end] === "\\" ? 2 : 1
        if (end >= text.length) return invalid(`unterminated double quote at column ${i + 1}`)
        try {
          word += JSON.parse(text.slice(i, end + 1)) as string
        } catch {
          return invalid(`bad escape in the quoted text at column ${i + 1}`)
        }
        quoted = true
        i = end + 1
      } else if (char === "'") {
        const end = text.indexOf("'", i + 1)
        if (end < 0) return invalid(`unterminated single quote at column ${i + 1}`)
        word += text.slice(i + 1, end)
        quoted = true
        i = end + 1
      } else {
        word += char
        i++
      }
    }
    words.push({ text: word, quoted })
  }
  return Either.right(words)
}

/** Types one human-form value by its parameter's schema; a value that does not fit is left as text for the session to reject. */
export const typeValue = (raw: string, quoted: boolean, param: Capabilities.ParamSchema | undefined): unknown => {
  if (param === undefined) {
    if (quoted) return raw
    if (raw === "true" || raw === "false") return raw === "true"
    return raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw
  }
  switch (param.type) {
    case "number":
    case "integer": {
      const value = Number(raw)
      return raw.trim() !== "" && !Number.isNaN(value) ? value : raw
    }
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : raw
    case "string":
      return raw
    case "object":
      return param.format === Upload.format ? readFile(raw) : raw
  }
}

const mediaTypes: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif"
}

/**
 * A file parameter typed as `@path`: the file read from disk, as an upload would hand it to the model (its media type
 * from its extension). Anything else, or a file that cannot be read, stays text for the session to reject.
 */
const readFile = (raw: string): unknown => {
  if (!raw.startsWith("@") || raw.length < 2) return raw
  const path = raw.slice(1)
  try {
    const bytes = new Uint8Array(fs.readFileSync(path))
    const extension = path.split(".").pop()?.toLowerCase() ?? ""
    return { name: basename(path), mimeType: mediaTypes[extension] ?? "application/octet-stream", bytes }
  } catch {
    return raw
  }
}

const parseJson = (text: string): Either.Either<Line, LineError> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(
      new LineError({
        code: "invalid_json",
        message: `invalid JSON: ${error instanceof Error ? error.message : String(error)}`
      })
    )
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return Either.left(
      new LineError({
        code: "invalid_json",
        message: "a JSON command must be an object {\"type\": ..., \"data\": {...}}"
      })
    )
  }
  const object = value as Record<string, unknown>
  // Accept Reactor's envelope too: {"scope":"application","data":{"type":...,"data":...}}.
  const inner = typeof object.type !== "string" && typeof object.data === "object" && object.data !== null &&
      "type" in object.data
    ? object.data as Record<string, unknown>
    : object
  const id = inner.id
  return Either.right(Command({
    incoming: {
      type: inner.type,
      data: inner.data,
      ...(typeof id === "string" || typeof id === "number" ? { id } : {})
    }
  }))
}

/** A JSON command's file parameters given as `"@path"`, read from disk (as `typeValue` does for `key=@path`). */
const withFiles = (line: Line, commands: ReadonlyArray<Capabilities.CommandCapability>): Line => {
  if (line._tag !== "Command") return line
  const { data, type } = line.incoming
  const command = commands.find((c) => c.name === type)
  if (command === undefined || typeof data !== "object" || data === null || Array.isArray(data)) return line
  const out: Record<string, unknown> = { ...data }
  for (const [key, value] of Object.entries(out)) {
    if (typeof value === "string" && command.schema[key]?.format === Upload.format) out[key] = readFile(value)
  }
  return Command({ incoming: { ...line.incoming, data: out } })
}

/**
 * Parses one line against the model's commands. JSON when it starts with `{`; otherwise `name key=value ...`.
 * `help` is the built-in help unless the model has a command of that name.
 */
export const parse = (
  line: string,
  commands: ReadonlyArray<Capabilities.CommandCapability>
): Either.Either<Line, LineError> => {
  const text = line.trim()
  if (text === "" || text.startsWith("#")) return Either.right(Empty())
  if (text.startsWith("{") || text.startsWith("[")) {
    return Either.map(parseJson(text), (line) => withFiles(line, commands))
  }
  return Either.flatMap(tokenize(text), (words): Either.Either<Line, LineError> => {
    const [head, ...rest] = words
    if (head === undefined) return Either.right(Empty())
    const name = head.text
    if (head.quoted || !namePattern.test(name)) {
      return invalid(`a command line starts with the command name, then key=value pairs; got ${JSON.stringify(name)}`)
    }
    const command = commands.find((c) => c.name === name)
    if (name === "help" && command === undefined) return Either.right(Help())
    const data: Record<string, unknown> = {}
    for (const word of rest) {
      const eq = word.text.indexOf("=")
      const key = eq < 0 ? "" : word.text.slice(0, eq)
      if (eq <= 0 || !namePattern.test(key)) {
        return invalid(`expected key=value after the command name, got ${JSON.stringify(word.text)}`)
      }
      if (Object.prototype.hasOwnProperty.call(data, key)) return invalid(`parameter "${key}" is given twice`)
      const raw = word.text.slice(eq + 1)
      // A value is quoted when any part of it was; `key="a b"` keeps its text as is.
      data[key] = typeValue(raw, word.quoted, command?.schema[key])
    }
    return Either.right(Command({ incoming: { type: name, data } }))
  })
}

/** Writes a command in the human form, quoting text so that `parse` reads it back to the same payload. */
export const format = (type: string, data: Readonly<Record<string, unknown>>): string =>
  [
    type,
    ...Object.entries(data).map(([key, value]) =>
      `${key}=${
        typeof value === "string"
          ? JSON.stringify(value)
          : typeof value === "number" && Object.is(value, -0)
          ? "-0"
          : JSON.stringify(value)
      }`
    )
  ].join(" ")
