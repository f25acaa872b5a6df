/**
 * Input tracks: what a viewer sends into a model (a webcam). A model declares them next to its commands
 * (`inputs: { webcam: Input.video({ description }) }`) and reads them in its session with `ctx.input("webcam")`:
 * the latest frame (or none yet) and a stream of frames that drops the oldest for a reader that falls behind, as the
 * output does. Frames come from untrusted clients: `check` is the one validator every path (WebSocket, WebRTC, a
 * model host) runs before a frame reaches a model, and each refusal is a specific `InputError`.
 */
import { type Effect, type Option, Schema, type Stream } from "effect"

/** A video input track, as a model declares it. */
export interface Video {
  readonly kind: "video"
  readonly description: string
  /** The largest frame accepted; a larger one is refused with `input_too_large`. */
  readonly maxWidth: number
  readonly maxHeight: number
}

/** A model's input tracks by name. */
export type Inputs = Readonly<Record<string, Video>>

/** The largest frame side an input accepts at most (as for output frames). */
export const maxSide = 8192

/** Declares a video input (e.g. the viewer's webcam). Defaults to at most 1280x720. */
export const video = (options: {
  readonly description: string
  readonly maxWidth?: number
  readonly maxHeight?: number
}): Video => {
  const maxWidth = options.maxWidth ?? 1280
  const maxHeight = options.maxHeight ?? 720
  for (const [name, value] of [["maxWidth", maxWidth], ["maxHeight", maxHeight]] as const) {
    if (!Number.isInteger(value) || value <= 0 || value > maxSide) {
      throw new Error(`Input.video: ${name} must be an integer from 1 to ${maxSide}, got ${String(value)}`)
    }
  }
  return { kind: "video", description: options.description, maxWidth, maxHeight }
}

/** An input frame as the runtime receives it, before it is checked: RGB bytes and the size the sender claims. */
export interface Incoming {
  readonly width: number
  readonly height: number
  /** `width * height * 3` bytes of RGB, row-major. Handed over: the caller must not touch the buffer afterwards. */
  readonly data: Uint8Array
  /** The pixel format the sender names; only `"rgb"` is accepted. Default `"rgb"`. */
  readonly format?: string
  /** When the sender captured it (epoch ms, the sender's clock), if it says. */
  readonly capturedAt?: number
}

/** One checked input frame, as a model reads it: an RGB `Frame` with its place and time on the track. */
export interface InputFrame {
  readonly track: string
  /** 0-based index of the frame on its track in this session. */
  readonly index: number
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
  /** When the runtime received it (epoch ms, the runtime's clock). */
  readonly receivedAt: number
  /** When the sender captured it (epoch ms, the sender's clock), when it said. */
  readonly capturedAt: number | undefined
}

/** What `ctx.input(name)` gives a model. */
export interface Track {
  readonly name: string
  readonly spec: Video
  /** The newest frame received, or none before the first one. */
  readonly latest: Effect.Effect<Option.Option<InputFrame>>
  /**
   * Every frame from now on (the newest held one first), behind a buffer of a few frames that drops the oldest when
   * the reader falls behind. Ends when the session does.
   */
  readonly frames: Stream.Stream<InputFrame>
  /** Input frames dropped so far for readers that fell behind, and on the way from the server to a model host. */
  readonly dropped: Effect.Effect<number>
}

/** The refusal codes of an input frame. */
export const InputErrorCode = Schema.Literal("unknown_track", "invalid_input", "input_too_large", "session_closed")

/** An input frame the runtime refused, with the reason; it crosses the wire as `error{code, message, track}`. */
export class InputError extends Schema.TaggedError<InputError>()("InputError", {
  code: InputErrorCode,
  message: Schema.String,
  track: Schema.String
}) {}

const isSize = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0

/** Checks an incoming frame against a model's inputs: `undefined` when it may reach the model, else the refusal. */
export const check = (inputs: Inputs, track: string, frame: Incoming): InputError | undefined => {
  const spec = Object.hasOwn(inputs, track) ? inputs[track] : undefined
  if (spec === undefined) {
    const known = Object.keys(inputs)
    return new InputError({
      code: "unknown_track",
      track: String(track),
      message: known.length === 0
        ? `the model has no input tracks; "${String(track)}" cannot be sent`
        : `no input track "${String(track)}"; the model's input tracks are ${known.map((k) => `"${k}"`).join(", ")}`
    })
  }
  const refuse = (code: "invalid_input" | "input_too_large", message: string) =>
    new InputError({ code, track, message })
  if (typeof frame !== "object" || frame === null) {
    return refuse("invalid_input", "an input frame must be {width, height, data}")
  }
  const format = frame.format ?? "rgb"
  if (format !== "rgb") {
    return refuse(
      "invalid_input",
      `input frames must be raw RGB (width*height*3 bytes); got format "${String(format)}"`
    )
  }
  const { data, height, width } = frame
  if (!isSize(width) || !isSize(height)) {
    return refuse(
      "invalid_input",
      `an input frame's size must be positive integers, got ${String(width)}x${String(height)}`
    )
  }
  if (width > spec.maxWidth || height > spec.maxHeight) {
    return refuse(
      "input_too_large",
      `the frame is ${width}x${height}; input "${track}" accepts at most ${spec.maxWidth}x${spec.maxHeight}`
    )
  }
  if (!(data instanceof Uint8Array)) return refuse("invalid_input", "an input frame's data must be RGB bytes")
  if (data.length !== width * height * 3) {
    return refuse(
      "invalid_input",
      `the frame has ${data.length} bytes of pixels but ${width}x${height} RGB needs ${width * height * 3}`
    )
  }
  if (frame.capturedAt !== undefined && !Number.isFinite(frame.capturedAt)) {
    return refuse("invalid_input", "an input frame's capture time must be a finite number")
  }
  return undefined
}

/** Checks a model's declared inputs when it is defined: names that a track list and a header can carry. */
export const checkDeclared = (model: string, inputs: Inputs): Inputs => {
  for (const [name, spec] of Object.entries(inputs)) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name) || name === "main_video") {
      throw new Error(
        `model "${model}": input track name "${name}" must be 1-64 letters, digits, _ or - (and not "main_video")`
      )
    }
    if (spec?.kind !== "video") throw new Error(`model "${model}": input "${name}" must be declared with Input.video`)
  }
  return inputs
}
