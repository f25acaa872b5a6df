/**
 * The upload store (Reactor's `upload_store.py`): the bytes clients upload for a session's file parameters, in memory,
 * bounded per file and per session, and dropped when the session ends. An upload is two steps: `reserve` a slot
 * from the announced name, type and size (`POST /sessions/{id}/uploads`), then `put` exactly that many bytes
 * (`PUT /uploads/{upload_id}`). A command names the upload in its `uploads` section and `resolve` hands its bytes
 * to the command, waiting a bounded time when the bytes are still on their way. Every refusal is a `WireError` with
 * its own code (`UploadError.status` maps it to an HTTP status).
 */
import { Context, Deferred, Effect, FiberMap, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Upload from "../model/Upload.js"
import * as WireError from "../protocol/WireError.js"
import type * as Session from "./Session.js"

/** What a client announces to reserve a slot. */
export interface Announced {
  readonly name: string
  readonly mimeType: string
  readonly size: number
}

/** A reserved slot, as the HTTP layer answers it. */
export interface Reserved {
  readonly uploadId: string
  readonly sessionId: string
  readonly name: string
}

interface Slot {
  readonly id: string
  readonly sessionId: string
  readonly name: string
  readonly mimeType: string
  readonly size: number
  readonly filled: Deferred.Deferred<Uint8Array, WireError.WireError>
  complete: boolean
}

/** The store. */
export interface Service {
  /**
   * Reserves a slot for a file of `session`: refused when the file is over `maxUploadBytes`
   * (`upload_too_large`), when the session's uploads would exceed `maxSessionUploadBytes` (`upload_quota_exceeded`),
   * or when no file parameter of the model takes its type (`upload_type_not_allowed`, checked by the caller with
   * `accepted`). The slot lives until the session ends.
   */
  readonly reserve: (
    session: Session.Session,
    announced: Announced,
    accept: ReadonlyArray<string> | undefined
  ) => Effect.Effect<Reserved, WireError.WireError>
  /** The byte count a slot waits for: `unknown_upload`, or `upload_already_complete` once its bytes are in. */
  readonly expected: (uploadId: string) => Effect.Effect<number, WireError.WireError>
  /**
   * Fills a slot: exactly its announced size (`upload_size_mismatch`), of its announced type when `contentType` is
   * given (`upload_type_mismatch`), and, for the image types a browser knows, bytes that are one
   * (`upload_content_mismatch`).
   */
  readonly put: (uploadId: string, bytes: Uint8Array, contentType: string | undefined) => Effect.Effect<
    void,
    WireError.WireError
  >
  /**
   * The file of an upload named by a command of session `sessionId`: `unknown_upload`, `upload_wrong_session`, or
   * `upload_incomplete` when its bytes do not arrive within `waitMs`.
   */
  readonly resolve: (
    sessionId: string,
    uploadId: string,
    waitMs: number
  ) => Effect.Effect<Upload.UploadedFile, WireError.WireError>
  /** Whether an upload of this session exists (its bytes may still be on their way). */
  readonly owns: (sessionId: string, uploadId: string) => Effect.Effect<boolean>
  /** Bytes held for a session, reserved or received. */
  readonly usage: (sessionId: string) => Effect.Effect<number>
  /** Drops every upload of a session (done by itself when the session ends). */
  readonly drop: (sessionId: string) => Effect.Effect<void>
}

/** The store's tag. */
export class Uploads extends Context.Tag("effect-reactor/session/Uploads")<Uploads, Service>() {}

/** The HTTP status of an upload refusal. */
export const status = (error: WireError.WireError): number => {
  switch (error.code) {
    case "unknown_upload":
      return 404
    case "upload_wrong_session":
      return 403
    case "upload_already_complete":
      return 409
    case "upload_too_large":
    case "upload_quota_exceeded":
      return 413
    case "upload_type_not_allowed":
    case "upload_type_mismatch":
    case "upload_content_mismatch":
      return 415
    default:
      return 400
  }
}

/** The magic bytes of the image types a browser's `File` commonly has; other types are not sniffed. */
const signatures: Readonly<Record<string, (b: Uint8Array) => boolean>> = {
  "image/png": (b) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47,
  "image/jpeg": (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  "image/gif": (b) => b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38,
  "image/webp": (b) =>
    b.length >= 12 && b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 &&
    b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50
}

const baseType = (mimeType: string) => mimeType.toLowerCase().split(";")[0]!.trim()

const unknownUpload = (uploadId: string) =>
  WireError.make(
    "unknown_upload",
    `no upload ${JSON.stringify(uploadId.slice(0, 64))}: it was never reserved, or its session has ended`,
    {
      upload_id: uploadId.slice(0, 256)
    }
  )

/** Builds a store whose session watchers live in the current scope. */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  const slots = new Map<string, Slot>()
  const bySession = new Map<string, Set<string>>()
  const watchers = yield* FiberMap.make<string>()

  const usage = (sessionId: string) => {
    let total = 0
    for (const id of bySession.get(sessionId) ?? []) total += slots.get(id)?.size ?? 0
    return total
  }

  const drop = (sessionId: string) =>
    Effect.suspend(() => {
      const ids = bySession.get(sessionId)
      bySession.delete(sessionId)
      const gone = WireError.make("unknown_upload", "the upload's session has ended")
      return Effect.forEach(ids ?? [], (id) => {
        const slot = slots.get(id)
        slots.delete(id)
        return slot === undefined ? Effect.void : Deferred.fail(slot.filled, gone)
      }, { discard: true })
    })

  const service: Service = {
    reserve: (session, announced, accept) =>
      Effect.gen(function*() {
        const { mimeType, name, size } = announced
        if (!Number.isInteger(size) || size <= 0) {
          return yield* WireError.make("invalid_upload", "size must be a whole number of bytes > 0", { size })
        }
        if (size > config.maxUploadBytes) {
          return yield* WireError.make(
            "upload_too_large",
            `the file has ${size} bytes; the largest upload is ${config.maxUploadBytes} bytes`,
            { size, limit: config.maxUploadBytes }
          )
        }
        if (accept !== undefined && !Upload.accepts(accept, mimeType)) {
          return yield* WireError.make(
            "upload_type_not_allowed",
            accept.length === 0
              ? "this model takes no files: none of its commands has a file parameter"
              : `files of type ${JSON.stringify(mimeType)} are not taken here; the model's file parameters take ${
                accept.join(", ")
              }`,
            { mime_type: mimeType, accepted: accept }
          )
        }
        if ((yield* session.endReason) !== undefined) {
          return yield* WireError.make("session_closed", "the session has ended; it takes no more uploads")
        }
        const used = usage(session.id)
        if (used + size > config.maxSessionUploadBytes) {
          return yield* WireError.make(
            "upload_quota_exceeded",
            `this session already holds ${used} bytes of uploads; ${size} more would pass its limit of ${config.maxSessionUploadBytes}`,
            { used, size, limit: config.maxSessionUploadBytes }
          )
        }
        const id = randomBytes(16).toString("hex")
        slots.set(id, {
          id,
          sessionId: session.id,
          name,
          mimeType,
          size,
          filled: yield* Deferred.make<Uint8Array, WireError.WireError>(),
          complete: false
        })
        let ids = bySession.get(session.id)
        if (ids === undefined) {
          ids = new Set()
          bySession.set(session.id, ids)
          // The session's uploads go with it.
          yield* FiberMap.run(watchers, session.id, Effect.zipRight(session.ended, drop(session.id)), {
            onlyIfMissing: true
          })
        }
        ids.add(id)
        return { uploadId: id, sessionId: session.id, name }
      }),
    expected: (uploadId) =>
      Effect.suspend(() => {
        const slot = slots.get(uploadId)
        if (slot === undefined) return Effect.fail(unknownUpload(uploadId))
        if (slot.complete) {
          return Effect.fail(WireError.make("upload_already_complete", "this upload already has its bytes"))
        }
        return Effect.succeed(slot.size)
      }),
    put: (uploadId, bytes, contentType) =>
      Effect.suspend(() => {
        const slot = slots.get(uploadId)
        if (slot === undefined) return Effect.fail(unknownUpload(uploadId))
        if (slot.complete) {
          return Effect.fail(WireError.make("upload_already_complete", "this upload already has its bytes"))
        }
        if (bytes.byteLength !== slot.size) {
          return Effect.fail(WireError.make(
            "upload_size_mismatch",
            `the upload was announced with ${slot.size} bytes, got ${bytes.byteLength}`,
            { expected: slot.size, size: bytes.byteLength }
          ))
        }
        const declared = baseType(slot.mimeType)
        if (contentType !== undefined && contentType !== "" && baseType(contentType) !== declared) {
          return Effect.fail(WireError.make(
            "upload_type_mismatch",
            `the upload was announced as ${declared}, the request says ${baseType(contentType)}`,
            { expected: declared, content_type: baseType(contentType) }
          ))
        }
        const sniff = signatures[declared]
        if (sniff !== undefined && !sniff(bytes)) {
          return Effect.fail(WireError.make(
            "upload_content_mismatch",
            `the bytes are not a ${declared} file`,
            { mime_type: declared }
          ))
        }
        slot.complete = true
        return Deferred.succeed(slot.filled, bytes)
      }),
    resolve: (sessionId, uploadId, waitMs) =>
      Effect.suspend(() => {
        const slot = slots.get(uploadId)
        if (slot === undefined) return Effect.fail(unknownUpload(uploadId))
        if (slot.sessionId !== sessionId) {
          return Effect.fail(
            WireError.make("upload_wrong_session", "the upload belongs to another session", {
              upload_id: uploadId
            })
          )
        }
        return Deferred.await(slot.filled).pipe(
          Effect.timeout(waitMs),
          Effect.catchTag(
            "TimeoutException",
            () =>
              Effect.fail(
                WireError.make(
                  "upload_incomplete",
                  `the upload's bytes did not arrive within ${waitMs} ms: PUT them before sending the command`,
                  { upload_id: uploadId }
                )
              )
          ),
          Effect.map((bytes): Upload.UploadedFile => ({ name: slot.name, mimeType: slot.mimeType, bytes }))
        )
      }),
    owns: (sessionId, uploadId) => Effect.sync(() => slots.get(uploadId)?.sessionId === sessionId),
    usage: (sessionId) => Effect.sync(() => usage(sessionId)),
    drop
  }
  return service
})

/** The store as a layer. */
export const layer: Layer.Layer<Uploads, never, ServerConfig.Config> = Layer.scoped(Uploads, make)

/** The store when one is in context (a server), else none (a test harness without HTTP). */
export const option = Effect.serviceOption(Uploads).pipe(Effect.map(Option.getOrUndefined))
