/**
 * Writes frames to a folder as PNG images (`frame-000042.png`, numbered by the frame's index in the session), every
 * Nth frame only when asked, so a headless run leaves something to look at.
 */
import { Data, Effect } from "effect"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import type { OutFrame } from "../session/FrameBus.js"

/** The folder cannot be created or an image cannot be written. */
export class FrameWriteError
  extends Data.TaggedError("FrameWriteError")<{ readonly path: string; readonly reason: string }>
{
  override get message() {
    return `cannot write frames to ${this.path}: ${this.reason}`
  }
}

/** A frame writer for one folder. */
export interface FrameWriter {
  readonly dir: string
  /** Writes the frame if its index is a multiple of `every`; returns the file written, if any. */
  readonly write: (frame: OutFrame) => Effect.Effect<string | undefined, FrameWriteError>
  /** Images written so far. */
  readonly written: Effect.Effect<number>
}

/** The file name of a frame. */
export const fileName = (index: number): string => `frame-${String(index).padStart(6, "0")}.png`

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Creates the folder (and its parents) and returns a writer for it. */
export const make = (
  dir: string,
  options: { readonly every?: number } = {}
): Effect.Effect<FrameWriter, FrameWriteError> =>
  Effect.gen(function*() {
    const every = Math.max(1, Math.floor(options.every ?? 1))
    yield* Effect.tryPromise({
      try: () => mkdir(dir, { recursive: true }),
      catch: (error) => new FrameWriteError({ path: dir, reason: reasonOf(error) })
    })
    // sharp (libvips) is loaded only when frames are written.
    const { default: sharp } = yield* Effect.tryPromise({
      try: () => import("sharp"),
      catch: (error) => new FrameWriteError({ path: dir, reason: `cannot load sharp: ${reasonOf(error)}` })
    })
    let written = 0
    return {
      dir,
      write: ({ frame, index }) => {
        if (index % every !== 0) return Effect.succeed(undefined)
        const path = join(dir, fileName(index))
        return Effect.tryPromise({
          try: () =>
            sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
              .png({ compressionLevel: 3 })
              .toFile(path),
          catch: (error) => new FrameWriteError({ path, reason: reasonOf(error) })
        }).pipe(Effect.map(() => {
          written++
          return path
        }))
      },
      written: Effect.sync(() => written)
    }
  })
