/**
 * Request bodies read through a schema, with the body limits: size (413 `body_too_large`, read no further than the
 * limit), nesting (400 `nesting_too_deep`), then the schema (400 `invalid_request` naming each field).
 */
import { FileSystem, HttpIncomingMessage, HttpServerRequest } from "@effect/platform"
import { Effect, Option, ParseResult, Schema } from "effect"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Envelope from "../protocol/Envelope.js"
import * as HttpError from "./HttpError.js"

/** The 413 of a body over the limit. */
export const bodyTooLarge = (limit: number, size?: number) =>
  HttpError.make(
    413,
    "body_too_large",
    `the request body ${size === undefined ? "is" : `has ${size} bytes,`} over the limit of ${limit} bytes`,
    { limit, ...(size !== undefined ? { size } : {}) }
  )

/**
 * Reads the JSON body through `schema`; an empty body is `{}`. `maxBytes` replaces the configured `maxBodyBytes` for
 * an endpoint whose bodies are larger by nature (an SDP offer).
 */
export const json = <A, I>(schema: Schema.Schema<A, I>, options: { readonly maxBytes?: number } = {}) =>
  Effect.gen(function*() {
    const config = yield* ServerConfig.Config
    const limit = options.maxBytes ?? config.maxBodyBytes
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = Number(request.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) return yield* bodyTooLarge(limit, declared)
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(FileSystem.Size(limit))),
      Effect.mapError((error) =>
        String((error as { cause?: unknown }).cause).includes("maxBytes")
          ? bodyTooLarge(limit)
          : HttpError.invalidRequest("the request body could not be read")
      )
    )
    if (Envelope.textTooDeep(text, config.maxDepth)) {
      return yield* HttpError.make(400, "nesting_too_deep", `the body nests more than ${config.maxDepth} levels deep`, {
        limit: config.maxDepth
      })
    }
    const value = yield* Effect.try({
      try: () => (text.trim() === "" ? {} : JSON.parse(text)) as unknown,
      catch: () => HttpError.invalidRequest("the request body is not valid JSON")
    })
    return yield* Schema.decodeUnknown(schema, { errors: "all" })(value).pipe(
      Effect.mapError((error) => {
        const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
          path: issue.path.map(String).join("."),
          message: issue.message.slice(0, 200)
        }))
        return HttpError.invalidRequest(
          "invalid request body: " +
            issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; "),
          { issues }
        )
      })
    )
  })
