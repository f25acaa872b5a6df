/**
 * The wire format both servers speak (docs/PROTOCOL.md): the 24-byte binary frame header and the JSON envelope.
 * The bare baseline writes exactly what the runtime writes, so the two carry the same bytes.
 */

/** Bytes of the binary frame header. */
export const headerBytes = 24

/** Codec ids of the header. */
export const Codec = { rgb: 0, jpeg: 1 } as const

/** A decoded frame header. */
export interface Header {
  readonly codec: number
  readonly track: number
  readonly index: number
  readonly width: number
  readonly height: number
  /** When the model emitted the frame's block (epoch ms). */
  readonly captureMs: number
}

/** Writes a header at the start of `buf`. */
export const writeHeader = (buf: Buffer, header: Header): void => {
  buf[0] = 0x52
  buf[1] = 0x46
  buf[2] = 1
  buf[3] = header.codec
  buf.writeUInt16LE(header.track, 4)
  buf.writeUInt16LE(0, 6)
  buf.writeUInt32LE(header.index >>> 0, 8)
  buf.writeUInt16LE(header.width, 12)
  buf.writeUInt16LE(header.height, 14)
  buf.writeDoubleLE(header.captureMs, 16)
}

/** Reads a header, or undefined when the magic is wrong. */
export const readHeader = (buf: Buffer): Header | undefined => {
  if (buf.length < headerBytes || buf[0] !== 0x52 || buf[1] !== 0x46) return undefined
  return {
    codec: buf[3]!,
    track: buf.readUInt16LE(4),
    index: buf.readUInt32LE(8),
    width: buf.readUInt16LE(12),
    height: buf.readUInt16LE(14),
    captureMs: buf.readDoubleLE(16)
  }
}

/** The first pixel of an RGB payload as a 24-bit number: how bench models tell which command a frame reflects. */
export const firstPixel = (frame: Buffer): number =>
  (frame[headerBytes]! << 16) | (frame[headerBytes + 1]! << 8) | frame[headerBytes + 2]!

/** Writes a 24-bit number into the first pixel of an RGB buffer (no header). */
export const setFirstPixel = (rgb: Uint8Array, value: number): void => {
  rgb[0] = (value >>> 16) & 0xff
  rgb[1] = (value >>> 8) & 0xff
  rgb[2] = value & 0xff
}

/** A JSON envelope (text message). */
export interface Envelope {
  readonly scope?: "application" | "runtime"
  readonly data: { readonly type: string; readonly data?: unknown; readonly id?: string | number }
}

/** A command envelope with an id, as clients send it. */
export const command = (type: string, data: unknown, id?: string | number): string =>
  JSON.stringify({ scope: "application", data: id === undefined ? { type, data } : { type, data, id } })

/** A runtime envelope, as servers send it. */
export const runtime = (type: string, data: unknown): string =>
  JSON.stringify({ scope: "runtime", data: { type, data } })

/** Epoch milliseconds with sub-millisecond precision. */
export const nowMs = (): number => performance.timeOrigin + performance.now()
