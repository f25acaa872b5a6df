/**
 * The session context (Reactor's `get_ctx()`): what a model's session code uses to talk to the runtime.
 */
import { Context, Effect } from "effect"
import type { Emittable, FrameError } from "./Frame.js"
import type * as Input from "./Input.js"
import type { AudioError } from "./Output.js"

/**
 * What may go with an emitted block: per-frame metadata for the client, and the frames of the model's other video
 * tracks (by name; one frame for the whole block, or one per frame of it).
 */
export interface EmitOptions<Video extends string = string> {
  /**
   * Metadata of the block's frames, sent to the client with each (a `frameMetadata` message): one JSON value for
   * every frame, or an array of one per frame when `perFrame` is true. At most 16 KiB of JSON per frame.
   */
  readonly metadata?: unknown
  /** `metadata` is an array of one value per frame of the block. */
  readonly perFrame?: boolean
  /** The frames of other video output tracks, released with the primary track's. */
  readonly tracks?: { readonly [K in Video]?: Emittable }
}

/**
 * The per-session services a model sees. `Names` are its input tracks' names: the `ctx` a model's `session` receives
 * is typed by its `inputs` declaration; `yield* SessionContext` gives the untyped view (any name).
 */
export interface Service<Names extends string = string, Audio extends string = string, Video extends string = string> {
  /** This session's unguessable id. */
  readonly sessionId: string
  /** The model's validated config. */
  readonly config: unknown
  /** What the client passed as `extra_args` when it started the session (untrusted: validate before use). */
  readonly extraArgs: Readonly<Record<string, unknown>>
  /**
   * Emits one frame or a block of frames (`null` = black). The runtime spaces a block's frames evenly at the model's
   * measured generation rate; it suspends while two blocks are already waiting, which paces a fast generator.
   */
  readonly emit: (frames: Emittable, options?: EmitOptions<Video>) => Effect.Effect<void, FrameError>
  /**
   * Emits a chunk of audio on an audio output track: 16-bit PCM, the track's channels interleaved, at most 1 s. Chunks
   * play back to back in real time; the call suspends while the track is more than half a second ahead, which paces
   * a fast generator. A track the model did not declare is a defect; a malformed chunk an `AudioError`.
   */
  readonly emitAudio: (track: Audio, samples: Int16Array) => Effect.Effect<void, AudioError>
  /** Sends a JSON message to the client (scope `application` on the wire). */
  readonly send: (message: unknown) => Effect.Effect<void>
  /** Stops counting time toward the generation rate, for an intentional pause. */
  readonly pauseMeasurement: Effect.Effect<void>
  /** Counts time toward the generation rate again. */
  readonly resumeMeasurement: Effect.Effect<void>
  /**
   * A declared input track (e.g. the viewer's webcam): its latest frame, or none yet, and a stream of its frames.
   * Asking for a name the model did not declare is a bug in the model (a defect naming the declared ones).
   */
  readonly input: (name: Names) => Input.Track
  /** Aborted as soon as the session starts stopping: hand it to long steps (fetch, workers, loops that poll it). */
  readonly signal: AbortSignal
  /**
   * Drops every frame still waiting to be shown and cuts the viewers' picture to black (Reactor's `output.flush()`):
   * for a generation that resets, so nothing of the old content plays after the cut.
   */
  readonly flush: Effect.Effect<void>
}

/** One viewer of a session, as the `connected` / `disconnected` hooks see it. */
export interface Viewer {
  /** The connection's id, unique in the session. */
  readonly id: string
  /** `controller` drives the session; a `watcher` only sees it. */
  readonly role: "controller" | "watcher"
  /** The transport it came by: `websocket`, `rpc`, `webrtc`. */
  readonly transport: string
}

/** The session context service. `yield* SessionContext` inside a model's session code. */
export class SessionContext extends Context.Tag("effect-reactor/SessionContext")<SessionContext, Service>() {}

/** Emits frames through the current session's context. */
export const emit = (frames: Emittable, options?: EmitOptions): Effect.Effect<void, FrameError, SessionContext> =>
  Effect.flatMap(SessionContext, (ctx) => ctx.emit(frames, options))

/** Emits audio on a track through the current session's context. */
export const emitAudio = (track: string, samples: Int16Array): Effect.Effect<void, AudioError, SessionContext> =>
  Effect.flatMap(SessionContext, (ctx) => ctx.emitAudio(track, samples))

/** Sends a message to the current session's client. */
export const send = (message: unknown): Effect.Effect<void, never, SessionContext> =>
  Effect.flatMap(SessionContext, (ctx) => ctx.send(message))

/** Drops the frames waiting to be shown and cuts to black, in the current session (`Service.flush`). */
export const flush: Effect.Effect<void, never, SessionContext> = Effect.flatMap(SessionContext, (ctx) => ctx.flush)

/** Runs an effect with the generation-rate measurement paused (an intentional pause must not lower the target rate). */
export const unmeasured = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | SessionContext> =>
  Effect.flatMap(
    SessionContext,
    (ctx) => Effect.acquireUseRelease(ctx.pauseMeasurement, () => self, () => ctx.resumeMeasurement)
  )

/**
 * Runs one long synchronous-looking step that can notice a stop: `step(signal)` gets the session's AbortSignal,
 * and the step is abandoned (its promise rejected by the caller's check) once the session stops.
 */
export const step = <A>(f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, never, SessionContext> =>
  Effect.flatMap(SessionContext, (ctx) => Effect.promise(() => f(ctx.signal)))
