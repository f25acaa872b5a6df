/**
 * The browser page: `GET /` is `index.html`, other top-level files of the web root (`/app.js`, `/app.css`) are its
 * assets, sent as platform file responses (streamed, with an ETag). Files are read per request, so the page can be
 * edited while the server runs; a missing file is a 404.
 */
import { HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { join } from "node:path"
import * as HttpError from "./HttpError.js"

const types: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
  map: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  wasm: "application/wasm"
}

/** A file name the page may ask for: one path segment with a known extension, no `..`. */
const assetName = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.([a-z0-9]+)$/

/** The response for a page path (`/`, `/app.js`), or a 404 error. */
export const serve = (webRoot: string, path: string) =>
  Effect.gen(function*() {
    const name = path === "/" || path === "" ? "index.html" : path.slice(1)
    const match = assetName.exec(name)
    const type = match === null ? undefined : types[match[1]!]
    if (match === null || type === undefined || name.includes("..")) return yield* HttpError.notFound(path)
    return yield* HttpServerResponse.file(join(webRoot, name), {
      contentType: type,
      headers: { "cache-control": "no-cache" }
    }).pipe(Effect.mapError(() => HttpError.notFound(path)))
  })
