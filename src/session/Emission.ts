/**
 * What rides along with an emitted block (`ctx.emit(frames, { metadata, tracks })`), checked and laid out one entry
 * per frame of the block for the pacer: the metadata the client gets with each frame, and the frames of the model's
 * other video tracks. Every refusal is a `FrameError` that says what is wrong.
 */
import * as Frame from "../model/Frame.js"
import * as Output from "../model/Output.js"
import type { EmitOptions } from "../model/SessionContext.js"
import type { Extra } from "./FrameBus.js"
import type { Side } from "./Pacer.js"

/** The most JSON one frame's metadata may take. */
export const maxMetadataBytes = 16 * 1024

/** One session's emission state: the last frame of each secondary video track (for `null` and size checks). */
export interface Tracks {
  readonly outputs: Output.Outputs
  readonly primary: string
  readonly last: Map<string, Frame.Frame>
  readonly handedOver: WeakSet<ArrayBuffer>
}

const json = (value: unknown, where: string): unknown | Frame.FrameError => {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    return new Frame.FrameError({
      message: `${where} is not JSON: ${error instanceof Error ? error.message : String(error)}`
    })
  }
  if (text === undefined) return new Frame.FrameError({ message: `${where} is not a JSON value` })
  if (text.length > maxMetadataBytes) {
    return new Frame.FrameError({
      message: `${where} takes ${text.length} bytes of JSON; the limit is ${maxMetadataBytes}`
    })
  }
  // a copy: the model may change its object after emitting it
  return JSON.parse(text)
}

/** Lays out the options of an emitted block of `length` frames, or refuses them; `undefined` when there are none. */
export const side = (
  state: Tracks,
  options: EmitOptions | undefined,
  length: number,
  fallback: { readonly width: number; readonly height: number }
): Side | Frame.FrameError | undefined => {
  if (options === undefined || (options.metadata === undefined && options.tracks === undefined)) return undefined
  let metadata: Array<unknown> | undefined
  if (options.metadata !== undefined) {
    if (options.perFrame === true) {
      if (!Array.isArray(options.metadata) || options.metadata.length !== length) {
        return new Frame.FrameError({
          message: `perFrame metadata must be an array of one value per frame: the block has ${length} frame(s), ` +
            `the metadata ${Array.isArray(options.metadata) ? options.metadata.length : "is no array"}`
        })
      }
      metadata = []
      for (let i = 0; i < length; i++) {
        const value = json(options.metadata[i], `the metadata of frame ${i}`)
        if (value instanceof Frame.FrameError) return value
        metadata.push(value)
      }
    } else {
      const value = json(options.metadata, "the frame metadata")
      if (value instanceof Frame.FrameError) return value
      metadata = Array.from({ length }, () => value)
    }
  }
  let extras: Array<Array<Extra>> | undefined
  if (options.tracks !== undefined) {
    extras = Array.from({ length }, () => [])
    for (const [track, emitted] of Object.entries(options.tracks as Record<string, Frame.Emittable | undefined>)) {
      if (emitted === undefined) continue
      const spec = Object.hasOwn(state.outputs, track) ? state.outputs[track] : undefined
      if (spec === undefined || spec.kind !== "video" || track === state.primary) {
        const others = Object.entries(state.outputs).filter(([name, s]) => s.kind === "video" && name !== state.primary)
          .map(([name]) => `"${name}"`)
        return new Frame.FrameError({
          message: `tracks.${track}: ${
            track === state.primary
              ? "the primary video track's frames are the first argument of emit"
              : "no such video output track"
          }; the other video tracks are ${others.length === 0 ? "none (declare them in outputs)" : others.join(", ")}`
        })
      }
      const block = Frame.toBlock(emitted, state.last.get(track), fallback)
      if (block instanceof Frame.FrameError) {
        return new Frame.FrameError({ message: `tracks.${track}: ${block.message}` })
      }
      if (block.length !== 1 && block.length !== length) {
        return new Frame.FrameError({
          message: `tracks.${track} has ${block.length} frames; give one, or one per frame of the block (${length})`
        })
      }
      const reused = Frame.handOver(block, state.handedOver)
      if (reused !== undefined) return new Frame.FrameError({ message: `tracks.${track}: ${reused.message}` })
      state.last.set(track, block[block.length - 1]!)
      for (let i = 0; i < length; i++) extras[i]!.push({ track, frame: block.length === 1 ? block[0]! : block[i]! })
    }
  }
  return {
    ...(metadata !== undefined ? { metadata } : {}),
    ...(extras !== undefined ? { extras } : {})
  }
}
