/**
 * The binary frame header of docs/PROTOCOL.md, the page's one copy of it (src/protocol/FrameHeader.ts is the
 * server's; test/web/frameHeader.test.ts checks the two write and read the same bytes): 24 bytes, little-endian,
 * "RF", version 1, codec, track, index, width, height, capture time. Frames from the server and the camera's input
 * frames to the model both use it.
 */

export const HEADER_BYTES = 24
export const VERSION = 1
export const CODEC_RGB = 0
export const CODEC_JPEG = 1

/**
 * Reads a binary message: `{version, codec, track, index, width, height, capturedAt, payload}` (codec as its id),
 * or null if it is not a frame message.
 */
export function readHeader(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : buffer
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < HEADER_BYTES) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES)
  if (view.getUint8(0) !== 0x52 || view.getUint8(1) !== 0x46) return null
  return {
    version: view.getUint8(2),
    codec: view.getUint8(3),
    track: view.getUint16(4, true),
    index: view.getUint32(8, true),
    width: view.getUint16(12, true),
    height: view.getUint16(14, true),
    capturedAt: view.getFloat64(16, true),
    payload: bytes.subarray(HEADER_BYTES)
  }
}

/** Writes the header into the first 24 bytes of `out` (a `Uint8Array`). */
export function writeHeader(out, { codec, track = 0, index, width, height, capturedAt }) {
  const view = new DataView(out.buffer, out.byteOffset, HEADER_BYTES)
  view.setUint8(0, 0x52)
  view.setUint8(1, 0x46)
  view.setUint8(2, VERSION)
  view.setUint8(3, codec)
  view.setUint16(4, track, true)
  view.setUint16(6, 0, true)
  view.setUint32(8, index >>> 0, true)
  view.setUint16(12, width, true)
  view.setUint16(14, height, true)
  view.setFloat64(16, capturedAt, true)
}
