/**
 * File uploads in Reactor's two steps (its `UploadRoutes`): `POST /sessions/{id}/uploads` reserves a slot from the
 * announced `{name, size, mime_type}` and answers 201 `{presigned_id, presigned_url, path}` (what the SDK's
 * `uploadFile` reads), then `PUT /uploads/{upload_id}` carries exactly that many bytes. The PUT needs no token: the
 * SDK sends none there, and the upload id (128 random bits, given only to whoever may start uploads for the session)
 * is its credential. Each refusal answers its own code (`Uploads.status`).
 */
import { FileSystem, HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import type * as WireError from "../protocol/WireError.js"
import * as Reactor from "../session/Reactor.js"
import * as Uploads from "../session/Uploads.js"
import * as UploadRefs from "../transport/UploadRefs.js"
import * as Body from "./Body.js"
import * as HttpError from "./HttpError.js"

/** `POST /sessions/{id}/uploads`' body, as the SDK sends it. */
export const CreateUpload = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  size: Schema.Number,
  mime_type: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))
})

/** The path of the PUT. */
export const putPath = "/uploads/"

const toHttp = (error: WireError.WireError) =>
  HttpError.make(Uploads.status(error), error.code, error.message, error.details)

const create = Effect.gen(function*() {
  const params = yield* HttpRouter.params
  const reactor = yield* Reactor.Reactor
  const session = yield* Reactor.lookup(reactor, params.id ?? "")
  if (session === undefined) return yield* HttpError.sessionNotFound(params.id ?? "")
  const body = yield* Body.json(CreateUpload)
  const store = yield* Uploads.Uploads
  const reserved = yield* store.reserve(
    session,
    { name: body.name, mimeType: body.mime_type, size: body.size },
    UploadRefs.acceptedTypes(reactor.model)
  ).pipe(Effect.mapError(toHttp))
  const request = yield* HttpServerRequest.HttpServerRequest
  const host = request.headers.host ?? "127.0.0.1"
  const proto = request.headers["x-forwarded-proto"] === "https" ? "https" : "http"
  return HttpServerResponse.unsafeJson({
    presigned_id: reserved.uploadId,
    presigned_url: `${proto}://${host}${putPath}${reserved.uploadId}`,
    path: `sessions/${session.id}/uploads/${reserved.uploadId}/${encodeURIComponent(reserved.name)}`
  }, { status: 201 })
})

const put = Effect.gen(function*() {
  const params = yield* HttpRouter.params
  const uploadId = params.upload_id ?? ""
  const store = yield* Uploads.Uploads
  // The slot knows its size: a wrong declared length is refused before the body is read, and no more is read.
  const expected = yield* store.expected(uploadId).pipe(Effect.mapError(toHttp))
  const request = yield* HttpServerRequest.HttpServerRequest
  const declared = request.headers["content-length"]
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) !== expected) {
    return yield* HttpError.make(
      400,
      "upload_size_mismatch",
      `the upload was announced with ${expected} bytes, the request has ${declared}`,
      { expected, size: Number(declared) }
    )
  }
  const buffer = yield* request.arrayBuffer.pipe(
    HttpIncomingMessage.withMaxBodySize(Option.some(FileSystem.Size(expected))),
    Effect.mapError(() =>
      HttpError.make(400, "upload_size_mismatch", `the body is longer than the announced ${expected} bytes`, {
        expected
      })
    )
  )
  yield* store.put(uploadId, new Uint8Array(buffer), request.headers["content-type"]).pipe(Effect.mapError(toHttp))
  return HttpServerResponse.empty({ status: 200 })
})

/** The upload endpoints. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.post("/sessions/:id/uploads", create),
  HttpRouter.put(`${putPath}:upload_id`, put)
)
