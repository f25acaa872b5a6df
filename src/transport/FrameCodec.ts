/**
 * Frame encoding for a socket: the binary frame message (`FrameHeader`, then the frame as JPEG through sharp or as raw
 * RGB) and the `?format=` / `?quality=` a client picks it with.
 */
import { Effect } from "effect"
import sharp from "sharp"
import type { OutAudio } from "../model/Output.js"
import { type Format, headerBytes, writeAudioHeader, writeHeader } from "../protocol/FrameHeader.js"
import type { OutFrame } from "../session/FrameBus.js"

export type { Format }

/**
 * The RGB message of a frame, synchronously: header + pixels in one uninitialised buffer (`Buffer.allocUnsafe`, not a
 * zero-filled array: every byte is written), so the only per-frame cost is the one copy of the pixels.
 */
export const encodeRgb = (frame: OutFrame): Uint8Array => {
  const data = frame.frame.data
  const out = Buffer.allocUnsafe(headerBytes + data.length)
  writeHeader(out, "rgb", frame)
  out.set(data, headerBytes)
  return out
}

/** The header of a raw RGB frame alone, for sending it in front of the frame's own buffer without a copy. */
export const rgbHeader = (frame: Pick<OutFrame, "index" | "frame" | "generatedAt">, track = 0): Uint8Array => {
  const out = Buffer.allocUnsafe(headerBytes)
  writeHeader(out, "rgb", frame, track)
  return out
}

/** Encodes a frame's pixels to JPEG, off the main thread (libvips). */
export const jpeg = (frame: OutFrame["frame"], quality: number): Effect.Effect<Uint8Array> =>
  Effect.promise(() =>
    sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), {
      raw: { width: frame.width, height: frame.height, channels: 3 }
    })
      .jpeg({ quality })
      .toBuffer()
  )

/** Encodes a frame into one binary message: the header, then JPEG or raw RGB. */
export const encode = (
  frame: Pick<OutFrame, "index" | "frame" | "generatedAt">,
  format: Format,
  quality: number,
  track = 0
): Effect.Effect<Uint8Array> => {
  if (format === "rgb" && track === 0) return Effect.sync(() => encodeRgb(frame as OutFrame))
  if (format === "rgb") {
    return Effect.sync(() => {
      const out = Buffer.allocUnsafe(headerBytes + frame.frame.data.length)
      writeHeader(out, "rgb", frame, track)
      out.set(frame.frame.data, headerBytes)
      return out
    })
  }
  return Effect.map(jpeg(frame.frame, quality), (bytes) => {
    const out = Buffer.allocUnsafe(headerBytes + bytes.length)
    writeHeader(out, format, frame, track)
    out.set(bytes, headerBytes)
    return out
  })
}

/** An audio chunk's binary message: the header (codec 2, `pcmCodec`), then its samples as 16-bit little-endian. */
export const encodeAudio = (chunk: OutAudio, track: number): Uint8Array => {
  const out = Buffer.allocUnsafe(headerBytes + chunk.samples.byteLength)
  writeAudioHeader(out, {
    track,
    index: chunk.index,
    sampleRate: chunk.sampleRate,
    channels: chunk.channels,
    playAt: chunk.emittedAt
  })
  // Int16Array is little-endian on every platform Node runs on here
  out.set(new Uint8Array(chunk.samples.buffer, chunk.samples.byteOffset, chunk.samples.byteLength), headerBytes)
  return out
}

/** Parses `?format=` and `?quality=`; `undefined` fields mean "not given". Errors name the bad value. */
export const parseQuery = (
  params: URLSearchParams,
  defaultQuality: number
): { readonly format: Format; readonly quality: number } | string => {
  const format = params.get("format") ?? "jpeg"
  if (format !== "jpeg" && format !== "rgb") return `format must be "jpeg" or "rgb", got ${JSON.stringify(format)}`
  const rawQuality = params.get("quality")
  const quality = rawQuality === null ? defaultQuality : Number(rawQuality)
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    return `quality must be an integer from 1 to 100, got ${JSON.stringify(rawQuality)}`
  }
  return { format, quality }
}
