/**
 * Video frames as the runtime streams them: uint8 RGB, height x width x 3, row-major (Reactor's `(H,W,3)`).
 */
import { Data } from "effect"

/** One RGB frame. `data.length` is always `width * height * 3`. */
export interface Frame {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/** What a model may hand to `emit`: one frame, a block of frames, or `null` for a black frame (as Reactor's `None`). */
export type Emittable = Frame | null | ReadonlyArray<Frame | null>

/** A frame the runtime refuses to stream, with the reason. Never streamed corrupt. */
export class FrameError extends Data.TaggedError("FrameError")<{
  readonly message: string
}> {}

/** The most frames one `emit` call may carry (Reactor's blocks are 1-12 frames; we allow some headroom). */
export const maxBlockSize = 64

/** Builds a frame, checking that the buffer matches the declared size. */
export const make = (width: number, height: number, data: Uint8Array): Frame => {
  const error = validate({ width, height, data })
  if (error !== undefined) throw new FrameError({ message: error })
  return { width, height, data }
}

/** Allocates a zeroed (black) frame. */
export const black = (width: number, height: number): Frame => ({
  width,
  height,
  data: new Uint8Array(width * height * 3)
})

/** A copy of a frame in a buffer of its own: to emit the same picture more than once. */
export const clone = (frame: Frame): Frame => ({ width: frame.width, height: frame.height, data: frame.data.slice() })

/** Frames at least this large that own their whole buffer are handed over on `emit` (see `handsOver`). */
export const handOverMinBytes = 64 * 1024

/**
 * Whether emitting this data hands its buffer over: the frame owns a whole `ArrayBuffer` (a fresh `Uint8Array`, as
 * `emit` asks) of at least `handOverMinBytes`. A model host moves such a buffer to the server without a copy, so the
 * model no longer has it; in-process the same rule holds, so a model behaves the same in both modes. Smaller frames,
 * and views into a larger buffer, are copied when they cross and may be emitted again.
 */
export const handsOver = (data: Uint8Array): boolean =>
  data.byteLength >= handOverMinBytes && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength &&
  data.buffer instanceof ArrayBuffer

const handedOver = "frame data was already handed over: an emitted frame of 64 KiB or more gives its buffer to the " +
  "server (a model host moves it without a copy), so every emit needs a fresh Uint8Array " +
  "(emit Frame.clone(frame) to show the same picture again)"

/**
 * Hands over the buffers of a checked block (`handsOver`), remembering them in `given` (one set per session): a
 * buffer emitted before, or twice in the block, is refused with the `FrameError` that says to use `Frame.clone`, and
 * then nothing of the block is handed over.
 */
export const handOver = (block: ReadonlyArray<Frame>, given: WeakSet<ArrayBuffer>): FrameError | undefined => {
  const fresh: Array<ArrayBuffer> = []
  for (let i = 0; i < block.length; i++) {
    const data = block[i]!.data
    if (!handsOver(data)) continue
    const buffer = data.buffer as ArrayBuffer
    if (given.has(buffer) || fresh.includes(buffer)) {
      return new FrameError({ message: block.length > 1 ? `frame ${i} of the block: ${handedOver}` : handedOver })
    }
    fresh.push(buffer)
  }
  for (const buffer of fresh) given.add(buffer)
  return undefined
}

/** Describes what is wrong with a frame, or `undefined` when it is well formed. */
export const validate = (frame: Frame): string | undefined => {
  if (typeof frame !== "object" || frame === null) return "a frame must be an object {width, height, data}"
  const { width, height, data } = frame
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    return `frame size must be positive integers, got ${String(width)}x${String(height)}`
  }
  if (width > 8192 || height > 8192) return `frame size ${width}x${height} exceeds 8192x8192`
  if (!(data instanceof Uint8Array)) return "frame data must be a Uint8Array of RGB bytes"
  if (data.length === 0 && data.buffer.byteLength === 0 && width * height > 0) return handedOver
  if (data.length !== width * height * 3) {
    return `frame data has ${data.length} bytes but ${width}x${height} RGB needs ${width * height * 3}`
  }
  return undefined
}

/**
 * Normalises what a model emitted into a block of checked frames. `null` becomes a black frame the size of
 * `previous` (or of `fallback` when nothing was emitted yet). Every frame must have the size of `previous`: a
 * session's stream has one size (a viewer's decoder and canvas are set up for it), so a change is an error.
 */
export const toBlock = (
  emitted: Emittable,
  previous: Frame | undefined,
  fallback: { readonly width: number; readonly height: number }
): ReadonlyArray<Frame> | FrameError => {
  const items: ReadonlyArray<Frame | null> = Array.isArray(emitted) ? emitted : [emitted as Frame | null]
  if (items.length === 0) return new FrameError({ message: "emit was given an empty block" })
  if (items.length > maxBlockSize) {
    return new FrameError({ message: `a block holds at most ${maxBlockSize} frames, got ${items.length}` })
  }
  const out: Array<Frame> = []
  let last = previous
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (item === null || item === undefined) {
      const size = last ?? fallback
      const frame = black(size.width, size.height)
      out.push(frame)
      last = frame
      continue
    }
    const error = validate(item)
    if (error !== undefined) {
      return new FrameError({ message: items.length > 1 ? `frame ${i} of the block: ${error}` : error })
    }
    const first = out[0]
    if (first !== undefined && (first.width !== item.width || first.height !== item.height)) {
      return new FrameError({
        message: `frame ${i} of the block is ${item.width}x${item.height} but frame 0 is ${first.width}x${first.height}`
      })
    }
    if (
      first === undefined && previous !== undefined &&
      (previous.width !== item.width || previous.height !== item.height)
    ) {
      return new FrameError({
        message:
          `the frame size changed mid-session from ${previous.width}x${previous.height} to ${item.width}x${item.height}; ` +
          "a session streams one size (a null frame before the first one has the model's declared frameSize)"
      })
    }
    out.push(item)
    last = item
  }
  return out
}
