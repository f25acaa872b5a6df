/**
 * The binary frame message's header, the one definition both directions use (frames to a client, a client's input
 * frames to the model): 24 bytes, little-endian. See docs/PROTOCOL.md, "Binary messages". The page's copy in JavaScript
 * is `src/web/frameHeader.js`, tested against this one.
 */

/** What the header says of a frame. */
export interface HeaderFields {
  readonly index: number
  readonly frame: { readonly width: number; readonly height: number }
  /** When the model emitted the frame's block (epoch ms). */
  readonly generatedAt: number
}

/** The frame codecs a socket can pick with `?format=`. */
export type Format = "jpeg" | "rgb"

export const headerBytes = 24
export const magic = [0x52, 0x46] as const
export const headerVersion = 1

/** Codec ids in the header. */
export const codecId: Record<Format, number> = { rgb: 0, jpeg: 1 }

/** A decoded header. */
export interface Header {
  readonly version: number
  readonly codec: Format
  readonly track: number
  readonly index: number
  readonly width: number
  readonly height: number
  /** When the model emitted the frame's block (epoch ms). */
  readonly capturedAt: number
}

/** Writes the header of a frame into the first 24 bytes of `out`. */
export const writeHeader = (out: Uint8Array, format: Format, frame: HeaderFields, track = 0): void => {
  const view = new DataView(out.buffer, out.byteOffset, headerBytes)
  view.setUint8(0, magic[0])
  view.setUint8(1, magic[1])
  view.setUint8(2, headerVersion)
  view.setUint8(3, codecId[format])
  view.setUint16(4, track, true)
  view.setUint16(6, 0, true)
  view.setUint32(8, frame.index >>> 0, true)
  view.setUint16(12, frame.frame.width, true)
  view.setUint16(14, frame.frame.height, true)
  view.setFloat64(16, frame.generatedAt, true)
}

/** Reads a header; `undefined` when the bytes are not a frame message. */
export const readHeader = (bytes: Uint8Array): Header | undefined => {
  if (bytes.length < headerBytes || bytes[0] !== magic[0] || bytes[1] !== magic[1]) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes)
  const codec = view.getUint8(3)
  return {
    version: view.getUint8(2),
    codec: codec === 0 ? "rgb" : "jpeg",
    track: view.getUint16(4, true),
    index: view.getUint32(8, true),
    width: view.getUint16(12, true),
    height: view.getUint16(14, true),
    capturedAt: view.getFloat64(16, true)
  }
}

/** An input frame from a client, its header read: the track index, the size and the RGB pixels after the header. */
export interface InputMessage {
  readonly track: number
  readonly width: number
  readonly height: number
  readonly capturedAt: number | undefined
  readonly pixels: Uint8Array
}

/**
 * Reads a client's binary input frame (the same 24-byte header, `track` = the index of an input track in
 * `capabilities.tracks`, codec 0 = raw RGB only); a string says what is wrong with the header.
 */
export const readInput = (bytes: Uint8Array): InputMessage | string => {
  if (bytes.length < headerBytes) {
    return `a binary message must start with the ${headerBytes}-byte frame header; got ${bytes.length} bytes`
  }
  const header = readHeader(bytes)
  if (header === undefined) return `a binary message must start with the magic bytes "RF" (0x52 0x46)`
  if (header.version !== headerVersion) {
    return `frame header version ${header.version} is not supported; send ${headerVersion}`
  }
  const codec = bytes[3]
  if (codec !== codecId.rgb) return `input frames must be raw RGB (codec 0); got codec ${codec}`
  return {
    track: header.track,
    width: header.width,
    height: header.height,
    capturedAt: Number.isFinite(header.capturedAt) && header.capturedAt > 0 ? header.capturedAt : undefined,
    pixels: bytes.subarray(headerBytes)
  }
}

/** Writes a client's input frame: the header (`track` = its index in `capabilities.tracks`), then the RGB pixels. */
export const encodeInput = (
  track: number,
  frame: { readonly width: number; readonly height: number; readonly data: Uint8Array },
  capturedAt = Date.now(),
  index = 0
): Uint8Array => {
  const out = new Uint8Array(headerBytes + frame.data.length)
  writeHeader(out, "rgb", { index, frame, generatedAt: capturedAt }, track)
  out.set(frame.data, headerBytes)
  return out
}

/** The largest binary message an input frame of these inputs needs (header included); 0 without inputs. */
export const maxInputBytes = (
  inputs: Readonly<Record<string, { readonly maxWidth: number; readonly maxHeight: number }>>
): number =>
  Object.values(inputs).reduce((max, spec) => Math.max(max, headerBytes + spec.maxWidth * spec.maxHeight * 3), 0)

/**
 * The codec id of an audio chunk: 16-bit signed little-endian PCM, channels interleaved. An audio message has the
 * same 24-byte header with these fields: bytes 6-7 = channels, 8-11 = chunk index on its track, 12-15 = sample rate
 * (u32), 16-23 = when the chunk is due to play (f64, epoch ms); then the samples.
 */
export const pcmCodec = 2

/** What an audio message's header says. */
export interface AudioHeader {
  readonly track: number
  readonly index: number
  readonly sampleRate: number
  readonly channels: number
  /** When the chunk is due to play (epoch ms, the server's clock). */
  readonly playAt: number
}

/** Writes the header of an audio chunk into the first 24 bytes of `out`. */
export const writeAudioHeader = (out: Uint8Array, header: AudioHeader): void => {
  const view = new DataView(out.buffer, out.byteOffset, headerBytes)
  view.setUint8(0, magic[0])
  view.setUint8(1, magic[1])
  view.setUint8(2, headerVersion)
  view.setUint8(3, pcmCodec)
  view.setUint16(4, header.track, true)
  view.setUint16(6, header.channels, true)
  view.setUint32(8, header.index >>> 0, true)
  view.setUint32(12, header.sampleRate, true)
  view.setFloat64(16, header.playAt, true)
}

/** Reads an audio message's header; `undefined` when the bytes are not an audio message. */
export const readAudioHeader = (bytes: Uint8Array): AudioHeader | undefined => {
  if (bytes.length < headerBytes || bytes[0] !== magic[0] || bytes[1] !== magic[1] || bytes[3] !== pcmCodec) {
    return undefined
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes)
  return {
    track: view.getUint16(4, true),
    channels: view.getUint16(6, true),
    index: view.getUint32(8, true),
    sampleRate: view.getUint32(12, true),
    playAt: view.getFloat64(16, true)
  }
}
