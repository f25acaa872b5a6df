/**
 * `GET /events`: the lifecycle journal (`Events`) as server-sent events, one `id: N` / `data: {json}` message per
 * event, as Reactor's runtime streams its journal. A reconnecting `EventSource` sends the last id it saw as
 * `Last-Event-ID` and gets what it missed (what is still kept); `?since=N` does the same and wins over the header.
 * A comment line every `heartbeatMs` keeps idle connections open through proxies. An operator endpoint
 * (`OperatorAuth`).
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schedule, Stream } from "effect"
import * as Events from "../session/Events.js"
import * as HttpError from "./HttpError.js"

/** Interval of the keep-alive comment. */
export const heartbeatMs = 15_000

/** How long an `EventSource` waits before it reconnects (the `retry:` field). */
export const retryMs = 1_000

const encoder = new TextEncoder()

/** One SSE message. */
export const format = (entry: Events.Entry): string => `id: ${entry.id}\ndata: ${JSON.stringify(entry.event)}\n\n`

const resumeFrom = (since: string | null, lastEventId: string | undefined) => {
  const raw = since ?? lastEventId
  if (raw === undefined || raw === null) return undefined
  return /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : "invalid" as const
}

const events = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const journal = yield* Events.Events
  const url = new URL(request.url, "http://x")
  const since = resumeFrom(url.searchParams.get("since"), request.headers["last-event-id"])
  if (since === "invalid") {
    return yield* HttpError.invalidRequest("since (or Last-Event-ID) must be an event id: a whole number >= 0")
  }
  const body = Stream.unwrapScoped(
    Effect.map(
      journal.subscribe(since),
      (subscription) =>
        Stream.make(`retry: ${retryMs}\n: events of effect-reactor\n\n`).pipe(
          Stream.concat(Stream.fromIterable(subscription.backlog.map(format))),
          Stream.concat(Stream.repeatEffect(Effect.map(subscription.take, format))),
          Stream.merge(Stream.fromSchedule(Schedule.spaced(heartbeatMs)).pipe(Stream.as(": keep-alive\n\n"))),
          Stream.map((text) => encoder.encode(text))
        )
    )
  )
  return HttpServerResponse.stream(body, {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
  })
})

/** The endpoint. */
export const router = HttpRouter.empty.pipe(HttpRouter.get("/events", events))
