/**
 * 6. Encoding: RGB frames per second through the JPEG path, one encode at a time with libvips on one thread, so the
 * figure is per core. The runtime column is the server's `FrameCodec.encode` (sharp + the 24-byte header, run as an
 * Effect); the baseline is a bare `sharp(...).jpeg().toBuffer()`. Also the raw RGB message build, for scale.
 */
import { Effect } from "effect"
import sharp from "sharp"
import type { OutFrame } from "../src/session/FrameBus.js"
import * as FrameCodec from "../src/transport/FrameCodec.js"
import { type Benchmark, type Config, pick } from "./lib/Harness.js"
import * as Table from "./lib/Table.js"
import * as Wire from "./lib/Wire.js"

const quality = 80

/** A frame with smooth regions, edges and mild noise: neither trivially compressible nor pure noise. */
const picture = (width: number, height: number): Uint8Array => {
  const data = new Uint8Array(width * height * 3)
  let seed = 12345
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      const noise = (seed >>> 16) & 15
      const i = (y * width + x) * 3
      const u = x / width
      const v = y / height
      const stripe = ((x >> 5) + (y >> 5)) & 1 ? 40 : 0
      data[i] = (200 * u + stripe + noise) & 0xff
      data[i + 1] = (120 + 100 * Math.sin(6.28 * v * 3) + noise) & 0xff
      data[i + 2] = (255 * (1 - u) * v + noise) & 0xff
    }
  }
  return data
}

interface Rate {
  readonly fps: number
  /** Frames per CPU-second of this process (all threads, libvips' included). */
  readonly perCpuSecond: number
  readonly bytes: number
}

/** Runs `encode` back to back for `windowMs` (and at most `maxCount` times). */
const rate = async (windowMs: number, maxCount: number, encode: () => Promise<number>): Promise<Rate> => {
  for (let i = 0; i < 3; i++) await encode()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let count = 0
  let bytes = 0
  while (count < maxCount && performance.now() - t0 < windowMs) {
    bytes = await encode()
    count++
  }
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { fps: count / seconds, perCpuSecond: count / ((cpu.user + cpu.system) / 1e6), bytes }
}

const measure = async (width: number, height: number, config: Config) => {
  const data = picture(width, height)
  const out: OutFrame = { index: 0, frame: { width, height, data }, generatedAt: Date.now(), emittedAt: Date.now() }
  const windowMs = pick(config, 4000, 300)
  const bare = await rate(windowMs, 100_000, async () => {
    const jpeg = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
      raw: { width, height, channels: 3 }
    })
      .jpeg({ quality })
      .toBuffer()
    return jpeg.length
  })
  const runtime = await rate(
    windowMs,
    100_000,
    () => Effect.runPromise(FrameCodec.encode(out, "jpeg", quality)).then((b) => b.length)
  )
  const rgbBare = await rate(pick(config, 1000, 100), 200_000, async () => {
    const message = Buffer.allocUnsafe(Wire.headerBytes + data.length)
    Wire.writeHeader(message, { codec: 0, track: 0, index: 0, width, height, captureMs: 0 })
    message.set(data, Wire.headerBytes)
    return message.length
  })
  const rgbRuntime = await rate(
    pick(config, 1000, 100),
    200_000,
    () => Promise.resolve(Effect.runSync(FrameCodec.encode(out, "rgb", quality)).length)
  )
  return { bare, runtime, rgbBare, rgbRuntime }
}

export const benchmark: Benchmark = {
  name: "encoding",
  run: async (config) => {
    const previous = sharp.concurrency()
    sharp.concurrency(1)
    const rows: Array<Table.Row> = []
    const notes: Array<string> = []
    try {
      for (const [width, height] of [[640, 360], [1280, 720]] as const) {
        const m = await measure(width, height, config)
        const size = `${width}x${height}`
        rows.push(
          Table.ratioTarget(
            {
              metric: `${size} JPEG q${quality}`,
              unit: "frames/s",
              runtime: m.runtime.fps,
              baseline: m.bare.fps,
              better: "higher"
            },
            { atLeast: 0.9 }
          ),
          {
            metric: `${size} JPEG per CPU-second`,
            unit: "frames",
            runtime: m.runtime.perCpuSecond,
            baseline: m.bare.perCpuSecond,
            better: "higher"
          },
          {
            metric: `${size} JPEG size`,
            unit: "KiB",
            runtime: m.runtime.bytes / 1024,
            baseline: m.bare.bytes / 1024,
            better: "neither"
          },
          {
            metric: `${size} RGB message build`,
            unit: "frames/s",
            runtime: m.rgbRuntime.fps,
            baseline: m.rgbBare.fps,
            better: "higher"
          }
        )
      }
    } finally {
      sharp.concurrency(previous)
    }
    notes.push(
      `sharp ${
        sharp.versions.sharp ?? "?"
      } / libvips ${sharp.versions.vips}, sharp.concurrency(1), one encode in flight: ` +
        "frames/s is what one core sustains; a synthetic frame with gradients, edges and noise"
    )
    notes.push("per CPU-second counts every thread of the benchmark process (libvips' worker and the main thread)")
    return [{
      name: "encoding",
      title: "6. Encoding (JPEG through the server's FrameCodec, per core)",
      columns: {
        runtime: "FrameCodec.encode(frame, \"jpeg\", 80): sharp + 24-byte header into one message, as an Effect",
        baseline: "sharp(raw).jpeg({quality: 80}).toBuffer() (for the RGB row: allocate, header, copy)"
      },
      rows,
      notes
    }]
  }
}
