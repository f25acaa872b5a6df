/**
 * The wire between the runtime and a Python model process: length-prefixed messages over one Unix socket, both
 * ways. A message is an 8-byte header (little-endian u32 JSON length, u32 payload length), a JSON object, then the
 * payload's raw bytes (frame pixels).
 *
 * Frames are read without a copy of our own: the socket reads into buffers this reader hands it (Node's `onread`), so
 * a frame's pixels land straight in the `Uint8Array` the session streams. Only what arrives in the same read as a
 * header (the start of a payload) is copied, from the small scratch buffer.
 */
import type { Socket } from "node:net"

/** One message: its JSON header, and its payload split into `parts` equal buffers (one per frame). */
export interface Message {
  readonly header: Record<string, unknown>
  readonly parts: ReadonlyArray<Uint8Array>
}

const headerBytes = 8

/**
 * The socket's `onread` option for a stream of messages: `deliver` gets each one in order. A header's `n` (frames
 * in a block) splits the payload into that many buffers of their own.
 */
export const reader = (deliver: (message: Message) => void) => {
  let scratch = new Uint8Array(256 * 1024)
  let start = 0
  let end = 0
  // The payload being read: its buffers, the one being filled and how far.
  let parts: Array<Uint8Array> | undefined
  let header: Record<string, unknown> = {}
  let part = 0
  let filled = 0

  const finishPart = () => {
    part++
    filled = 0
    if (parts !== undefined && part >= parts.length) {
      const message = { header, parts }
      parts = undefined
      deliver(message)
    }
  }

  const parse = () => {
    while (end - start >= headerBytes) {
      const view = new DataView(scratch.buffer, scratch.byteOffset + start, headerBytes)
      const jsonLength = view.getUint32(0, true)
      const payloadLength = view.getUint32(4, true)
      if (end - start < headerBytes + jsonLength) {
        if (headerBytes + jsonLength > scratch.length) {
          const grown = new Uint8Array(headerBytes + jsonLength + 64 * 1024)
          grown.set(scratch.subarray(start, end))
          end -= start
          start = 0
          scratch = grown
        }
        return
      }
      const text = Buffer.from(scratch.buffer, scratch.byteOffset + start + headerBytes, jsonLength).toString("utf8")
      start += headerBytes + jsonLength
      header = JSON.parse(text) as Record<string, unknown>
      if (payloadLength === 0) {
        deliver({ header, parts: [] })
        continue
      }
      const count = typeof header.n === "number" && header.n > 1 && payloadLength % header.n === 0 ? header.n : 1
      const size = payloadLength / count
      parts = Array.from({ length: count }, () => new Uint8Array(size))
      part = 0
      filled = 0
      // Whatever of the payload came with the header: copied from the scratch buffer.
      while (parts !== undefined && start < end) {
        const target = parts[part]!
        const n = Math.min(end - start, target.length - filled)
        target.set(scratch.subarray(start, start + n), filled)
        start += n
        filled += n
        if (filled === target.length) finishPart()
      }
      if (parts !== undefined) return
    }
  }

  return {
    /** The buffer the next read fills: the payload's current frame, or the scratch buffer. */
    buffer: (): Uint8Array => {
      if (parts !== undefined) return parts[part]!.subarray(filled)
      if (start === end) {
        start = 0
        end = 0
      } else if (scratch.length - end < 64 * 1024) {
        scratch.copyWithin(0, start, end)
        end -= start
        start = 0
      }
      return scratch.subarray(end)
    },
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      if (parts !== undefined && buffer.buffer === parts[part]!.buffer) {
        filled += bytes
        if (filled === parts[part]!.length) finishPart()
        return true
      }
      end += bytes
      parse()
      return true
    }
  }
}

/** Writes one message (the payload is referenced, not copied, until the socket has sent it). */
export const write = (socket: Socket, header: Record<string, unknown>, payload?: Uint8Array): boolean => {
  const json = Buffer.from(JSON.stringify(header), "utf8")
  const head = Buffer.allocUnsafe(headerBytes)
  head.writeUInt32LE(json.length, 0)
  head.writeUInt32LE(payload?.byteLength ?? 0, 4)
  if (payload === undefined || payload.byteLength === 0) return socket.write(Buffer.concat([head, json]))
  socket.cork()
  socket.write(Buffer.concat([head, json]))
  const ok = socket.write(payload)
  socket.uncork()
  return ok
}
