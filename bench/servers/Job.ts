/**
 * The jobs a benchmark server does, the same for the bare `ws` baseline and for the runtime (where each job is a
 * bench model). A job is passed to the server subprocess as JSON on its command line.
 */

/** Stream frames as fast as the client reads them (throughput). */
export interface Stream {
  readonly job: "stream"
  readonly width: number
  readonly height: number
}

/** Acknowledge every command that has an id (round trip). The runtime's model has a `set` command. */
export interface Echo {
  readonly job: "echo"
}

/**
 * Generate blocks of `block` frames at `fps`, released evenly spaced. With `stateful`, every frame is fresh and its
 * first pixel holds the last `set` command's value (command to frame); otherwise one frame is reused (pacing, scale).
 */
export interface Generate {
  readonly job: "generate"
  readonly fps: number
  readonly block: number
  readonly width: number
  readonly height: number
  readonly stateful: boolean
  /** `default`: the runtime keeps its per-connection budgets (the fairness benchmark measures them). */
  readonly limits?: "default"
}

/** Open sockets, no frames (idle memory per session). */
export interface Idle {
  readonly job: "idle"
}

/** A model whose loop spins synchronously from its first step on: it never yields (isolation). */
export interface Spin {
  readonly job: "spin"
}

/** A CPU-bound model: every step does a fixed amount of arithmetic (`work` iterations), then emits a small frame. */
export interface Burn {
  readonly job: "burn"
  readonly work: number
}

/**
 * Fresh frames at `fps` with the wall clock drawn into their pixels (ClockPixels.ts): a viewer reads it back to
 * measure frame-to-screen latency, whatever transport and codec carried the frame.
 */
export interface Clock {
  readonly job: "clock"
  readonly fps: number
  readonly width: number
  readonly height: number
}

/**
 * Take the client's input frames (binary, RGB, on the first input track) and answer each with a `seen` message
 * carrying its capture time, from the model (the runtime: `ctx.input`), or straight from the socket (bare).
 */
export interface Mirror {
  readonly job: "mirror"
}

/**
 * Read the wall clock off each of the client's input frames (ClockPixels.ts, drawn by the page at capture time, row
 * drawn at `drawnWidth`) in the model, and answer each with an `input_age` message: capture to `ctx.input`.
 */
export interface CamClock {
  readonly job: "camclock"
  readonly drawnWidth: number
}

export type Job = Stream | Echo | Generate | Idle | Spin | Burn | Clock | Mirror | CamClock

/** The `set` command's payload, for the echo and generate jobs. */
export interface SetPayload {
  readonly value: number
}

/** What a server subprocess prints on its first stdout line once it listens. */
export interface Listening {
  readonly port: number
  readonly pid: number
  /** How the server passes frames (for the notes): e.g. `rgb`. */
  readonly format: string
}

/** Limit on the socket's buffered bytes above which frames are dropped (the runtime's slow-client rule). */
export const bufferLimitBytes = 1 << 20

/** A random RGB payload of the given size (random so no layer can compress it). */
export const randomRgb = (width: number, height: number): Uint8Array => {
  const data = new Uint8Array(width * height * 3)
  let x = 0x9e3779b9
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    data[i] = x & 0xff
  }
  return data
}
