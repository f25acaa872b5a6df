/**
 * RGB frames to I420, the encoder's input. The model's packed RGB is widened to RGBA in JS, then libyuv
 * (`nonstandard.rgbaToI420`, the only RGB-family conversion `@roamhq/wrtc` exposes) does the colour conversion.
 * Measured at 640x360: libyuv 0.03 ms; the widening 0.65 ms as one 32-bit write per pixel (with `0xff000000`, a
 * double, in every store), 0.38 ms with an int32 alpha, 0.27 ms reading three 32-bit words per four pixels (the way
 * it is done now, when the frame's bytes are word-aligned). Buffers are kept per converter and reused while the
 * frame size stays the same.
 */
import type * as Frame from "../model/Frame.js"

/** An I420 frame as `RTCVideoSource.onFrame` takes it. */
export interface I420Frame {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/** The libyuv conversion, as `@roamhq/wrtc` exposes it. */
export type RgbaToI420 = (rgba: I420Frame, i420: I420Frame) => void

/** Bytes of an I420 frame: a full-size Y plane and two quarter-size chroma planes (odd sizes round up). */
export const byteLength = (width: number, height: number) =>
  width * height + 2 * ((width + 1) >> 1) * ((height + 1) >> 1)

/** A converter with its own scratch buffers; not shared between streams. */
export interface Converter {
  /** Converts one RGB frame; the returned buffer is reused by the next call. */
  readonly convert: (frame: Frame.Frame) => I420Frame
}

/** Whether this machine stores words little-endian (the word-at-a-time paths assume it). */
const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** The alpha byte of a little-endian RGBA word, as an int32 (a Uint32 constant would make every store a double). */
const opaque = -16777216 // 0xff000000 | 0

/** Packed RGB to RGBA, `pixels` pixels of `rgb` into `rgba` (and `out`, its 32-bit view). */
const widen = (rgb: Uint8Array, pixels: number, rgba: Uint8Array, out: Int32Array): void => {
  if (!little) {
    for (let p = 0, s = 0; p < pixels; p++, s += 3) {
      rgba[p * 4] = rgb[s]!
      rgba[p * 4 + 1] = rgb[s + 1]!
      rgba[p * 4 + 2] = rgb[s + 2]!
      rgba[p * 4 + 3] = 255
    }
    return
  }
  let p = 0
  if (rgb.byteOffset % 4 === 0) {
    // Four pixels from three words: r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3.
    const words = new Uint32Array(rgb.buffer, rgb.byteOffset, (pixels >> 2) * 3)
    for (let w = 0; w < words.length; w += 3, p += 4) {
      const a = words[w]!
      const b = words[w + 1]!
      const c = words[w + 2]!
      out[p] = a | opaque
      out[p + 1] = (a >>> 24) | (b << 8) | opaque
      out[p + 2] = (b >>> 16) | (c << 16) | opaque
      out[p + 3] = (c >>> 8) | opaque
    }
  }
  for (let s = p * 3; p < pixels; p++, s += 3) out[p] = rgb[s]! | (rgb[s + 1]! << 8) | (rgb[s + 2]! << 16) | opaque
}

/** Makes a converter over libyuv's RGBA->I420. */
export const make = (rgbaToI420: RgbaToI420): Converter => {
  let width = 0
  let height = 0
  let rgba = new Uint8Array(0)
  let rgba32 = new Int32Array(0)
  let i420 = new Uint8Array(0)
  return {
    convert: (frame) => {
      if (frame.width !== width || frame.height !== height) {
        width = frame.width
        height = frame.height
        rgba = new Uint8Array(width * height * 4)
        rgba32 = new Int32Array(rgba.buffer)
        i420 = new Uint8Array(byteLength(width, height))
      }
      widen(frame.data, width * height, rgba, rgba32)
      const out = { width, height, data: i420 }
      rgbaToI420({ width, height, data: rgba }, out)
      return out
    }
  }
}

/** The libyuv conversion back, as `@roamhq/wrtc` exposes it. */
export type I420ToRgba = (i420: I420Frame, rgba: I420Frame) => void

/** RGBA to packed RGB, `pixels` pixels: four pixels' words become three (little-endian), the rest byte by byte. */
const narrow = (rgba: Uint8Array, rgba32: Uint32Array, pixels: number, rgb: Uint8Array): void => {
  let p = 0
  if (little) {
    const words = new Uint32Array(rgb.buffer, rgb.byteOffset, (pixels >> 2) * 3)
    for (let w = 0; w < words.length; w += 3, p += 4) {
      const p0 = rgba32[p]!
      const p1 = rgba32[p + 1]!
      const p2 = rgba32[p + 2]!
      const p3 = rgba32[p + 3]!
      words[w] = (p0 & 0xffffff) | (p1 << 24)
      words[w + 1] = ((p1 >>> 8) & 0xffff) | (p2 << 16)
      words[w + 2] = ((p2 >>> 16) & 0xff) | (p3 << 8)
    }
  }
  for (let s = p * 4, d = p * 3; p < pixels; p++, s += 4, d += 3) {
    rgb[d] = rgba[s]!
    rgb[d + 1] = rgba[s + 1]!
    rgb[d + 2] = rgba[s + 2]!
  }
}

/**
 * A reader of decoded I420 frames as packed RGB (each a fresh buffer, the model's to keep), through libyuv's
 * I420->RGBA and a word-at-a-time narrowing; its RGBA scratch is reused while the frame size stays the same.
 */
export const reader = (i420ToRgba: I420ToRgba): (frame: I420Frame) => Uint8Array => {
  let rgba = new Uint8Array(0)
  let rgba32 = new Uint32Array(0)
  return (frame) => {
    const { height, width } = frame
    if (rgba.length !== width * height * 4) {
      rgba = new Uint8Array(width * height * 4)
      rgba32 = new Uint32Array(rgba.buffer)
    }
    i420ToRgba(frame, { width, height, data: rgba })
    const rgb = new Uint8Array(width * height * 3)
    narrow(rgba, rgba32, width * height, rgb)
    return rgb
  }
}
