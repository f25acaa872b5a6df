/**
 * Clips of recorded sessions, as Reactor's runtime serves them (its `RecordingRoutes`): `GET /clips?session_id&start&end`
 * answers the HLS playlist of that range of seconds (200, `application/vnd.apple.mpegurl`), 202 with `Retry-After`
 * while its last segment is still being written, 410 when the recording is unknown or the range aged out, 400 for a
 * malformed range; `GET /clips/chunks/{session_id}/{file}` serves the fMP4 segments the playlist names. Operator
 * endpoints (`OperatorAuth`): a `?token=` given to `/clips` is carried into the segment URIs, for a player that cannot
 * send headers.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as Recorder from "../session/Recorder.js"
import * as HttpError from "./HttpError.js"

const gone = (message: string) => HttpError.make(410, "recording_gone", message)

const number = (raw: string | null) => (raw === null || raw.trim() === "" ? Number.NaN : Number(raw))

const clips = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const recorder = yield* Recorder.Recorder
  const query = new URL(request.url, "http://x").searchParams
  const sessionId = query.get("session_id")
  if (sessionId === null || sessionId === "") return yield* HttpError.invalidRequest("session_id is required")
  const token = query.get("token")
  const clip = yield* recorder.clip(
    sessionId,
    number(query.get("start")),
    number(query.get("end")),
    token === null ? "" : new URLSearchParams({ token }).toString()
  )
  switch (clip._tag) {
    case "Invalid":
      return yield* HttpError.invalidRequest(clip.message)
    case "Gone":
      return yield* gone(clip.message)
    case "Pending":
      return HttpServerResponse.empty({ status: 202, headers: { "retry-after": String(clip.retryAfter) } })
    case "Playlist":
      return HttpServerResponse.text(clip.body, {
        contentType: "application/vnd.apple.mpegurl",
        headers: { "cache-control": "no-cache" }
      })
  }
})

const chunk = Effect.gen(function*() {
  const params = yield* HttpRouter.params
  const recorder = yield* Recorder.Recorder
  const name = params.file ?? ""
  const path = yield* recorder.file(params.session_id ?? "", name)
  if (path === "Gone") return yield* gone("no recording of that session: unknown, or aged out")
  if (path === undefined) return yield* HttpError.notFound(`segment ${name}`)
  const bytes = yield* Effect.tryPromise({
    try: () => fs.readFile(path),
    catch: () => HttpError.notFound(`segment ${name}`)
  })
  return HttpServerResponse.uint8Array(bytes, {
    contentType: name === Recorder.initFile ? "video/mp4" : "video/iso.segment"
  })
})

/** The clip endpoints. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/clips", clips),
  HttpRouter.get("/clips/chunks/:session_id/:file", chunk)
)
