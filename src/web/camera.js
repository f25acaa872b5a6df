/**
 * The viewer's camera as a model's input track, over the WebSocket: for a model that declares a video input, frames
 * from `getUserMedia` are drawn into a canvas, packed as raw RGB behind the 24-byte frame header (its `track` field =
 * the input's index in `capabilities.tracks`) and sent as binary messages (docs/PROTOCOL.md, input frames). A frame
 * is skipped while the socket still has over 1 MiB to send: the model reads the newest frame anyway.
 */

import { CODEC_RGB, HEADER_BYTES, writeHeader } from "./frameHeader.js"

const maxBufferedBytes = 1 << 20

/** The index of the first input video track in a capabilities track list, or -1. */
export function inputTrackIndex(tracks) {
  if (!Array.isArray(tracks)) return -1
  return tracks.findIndex((track) => track?.direction === "sendonly" && track?.kind === "video")
}

/** Packs an RGBA image into one input frame message. */
export function pack(rgba, width, height, track, index) {
  const out = new Uint8Array(HEADER_BYTES + width * height * 3)
  writeHeader(out, { codec: CODEC_RGB, track, index, width, height, capturedAt: Date.now() })
  for (let i = 0, o = HEADER_BYTES; i < width * height * 4; i += 4, o += 3) {
    out[o] = rgba[i]
    out[o + 1] = rgba[i + 1]
    out[o + 2] = rgba[i + 2]
  }
  return out
}

/**
 * Starts the camera and sends its frames to `socket()` (the current socket, which may change on a reconnect) at
 * `fps`, at most `maxWidth` wide. Resolves to a function that stops it.
 */
export async function startCamera({ track, socket, fps = 15, maxWidth = 320 }) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } } })
  const video = document.createElement("video")
  video.muted = true
  video.playsInline = true
  video.srcObject = stream
  await video.play()
  const canvas = document.createElement("canvas")
  const context = canvas.getContext("2d", { willReadFrequently: true })
  let index = 0
  const timer = setInterval(() => {
    const ws = socket()
    if (!ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > maxBufferedBytes) return
    if (video.readyState < 2 || video.videoWidth === 0) return
    const scale = Math.min(1, maxWidth / video.videoWidth)
    const width = Math.max(1, Math.round(video.videoWidth * scale))
    const height = Math.max(1, Math.round(video.videoHeight * scale))
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width
      canvas.height = height
    }
    context.drawImage(video, 0, 0, width, height)
    ws.send(pack(context.getImageData(0, 0, width, height).data, width, height, track, index++))
  }, 1000 / fps)
  return () => {
    clearInterval(timer)
    for (const t of stream.getTracks()) t.stop()
    video.srcObject = null
  }
}
