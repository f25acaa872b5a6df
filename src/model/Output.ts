/**
 * Output tracks: what a model sends its viewers, as named `Video` and `Audio` tracks (Reactor's `Output` with
 * `Video`/`Audio` fields). A model declares them next to its commands:
 *
 * ```ts
 * outputs: {
 *   main_video: Output.video({ description: "The scene" }),
 *   keyboard: Output.video({ description: "The keys being played" }),
 *   main_audio: Output.audio({ description: "The synthesiser", channels: 1 })
 * }
 * ```
 *
 * The first track is a video track, the primary one: `ctx.emit(frames)` goes there, paced as before, and the other
 * video tracks ride along frame for frame (`ctx.emit(frames, { tracks: { keyboard } })`). Audio is PCM, 16-bit signed
 * interleaved samples, sent with `ctx.emitAudio(track, samples)` and played in real time (Opus over WebRTC, raw PCM
 * over the WebSocket). A model that declares no outputs has one video track, `main_video`.
 */
import { Data } from "effect"

/** A video output track. */
export interface Video {
  readonly kind: "video"
  readonly description: string
}

/** An audio output track: 16-bit PCM at `sampleRate`, `channels` interleaved. */
export interface Audio {
  readonly kind: "audio"
  readonly description: string
  readonly sampleRate: number
  readonly channels: 1 | 2
}

/** One output track. */
export type Track = Video | Audio

/** A model's output tracks by name, in declaration order. */
export type Outputs = Readonly<Record<string, Track>>

/** The names of the video tracks of an output declaration. */
export type VideoNames<O extends Outputs> =
  & { readonly [K in keyof O]: O[K] extends Video ? K : never }[keyof O]
  & string

/** The names of the audio tracks of an output declaration. */
export type AudioNames<O extends Outputs> =
  & { readonly [K in keyof O]: O[K] extends Audio ? K : never }[keyof O]
  & string

/** Sample rates an audio track may declare (what Opus in libwebrtc takes). */
export const sampleRates = [8000, 16000, 24000, 32000, 44100, 48000] as const

/** Declares a video output track. */
export const video = (options: { readonly description?: string } = {}): Video => ({
  kind: "video",
  description: options.description ?? "video"
})

/** Declares an audio output track; 48 kHz mono by default. */
export const audio = <const Channels extends 1 | 2 = 1>(options: {
  readonly description?: string
  readonly sampleRate?: number
  readonly channels?: Channels
} = {}): Audio => {
  const sampleRate = options.sampleRate ?? 48000
  const channels = options.channels ?? 1
  if (!sampleRates.includes(sampleRate as typeof sampleRates[number])) {
    throw new Error(`Output.audio: sampleRate must be one of ${sampleRates.join(", ")}, got ${String(sampleRate)}`)
  }
  if (channels !== 1 && channels !== 2) {
    throw new Error(`Output.audio: channels must be 1 or 2, got ${String(channels)}`)
  }
  return { kind: "audio", description: options.description ?? "audio", sampleRate, channels }
}

/** The outputs of a model that declares none: one video track, `main_video`. */
export const defaults: Outputs = { main_video: video({ description: "The model's video" }) }

/** The primary video track: the first declared one (where `ctx.emit` goes). */
export const primary = (outputs: Outputs): string => Object.keys(outputs)[0] ?? "main_video"

/** The declared outputs of a model, or the default single `main_video`. */
export const of = (model: { readonly outputs?: Outputs | undefined }): Outputs => model.outputs ?? defaults

/** Checks a model's declared outputs when it is defined: names, a video track first, no clash with input names. */
export const checkDeclared = (model: string, outputs: Outputs, inputs: Readonly<Record<string, unknown>>): Outputs => {
  const entries = Object.entries(outputs)
  if (entries.length === 0) throw new Error(`model "${model}": outputs must declare at least one video track`)
  if (entries.length > 16) throw new Error(`model "${model}": at most 16 output tracks, got ${entries.length}`)
  for (const [name, spec] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(name)) {
      throw new Error(`model "${model}": output track name "${name}" must be 1-64 letters, digits, _ or -`)
    }
    if (spec?.kind !== "video" && spec?.kind !== "audio") {
      throw new Error(`model "${model}": output "${name}" must be declared with Output.video or Output.audio`)
    }
    if (Object.hasOwn(inputs, name)) {
      throw new Error(`model "${model}": "${name}" is declared both as an output and as an input track`)
    }
  }
  if (entries[0]![1].kind !== "video") {
    throw new Error(
      `model "${model}": the first output track must be a video track (the primary one, where ctx.emit goes); ` +
        `"${entries[0]![0]}" is audio`
    )
  }
  return outputs
}

/** An audio chunk the runtime refuses, with the reason. */
export class AudioError extends Data.TaggedError("AudioError")<{ readonly message: string }> {}

/** The longest chunk one `emitAudio` may carry, in seconds. */
export const maxChunkSeconds = 1

/** Describes what is wrong with an audio chunk for a track, or `undefined` when it is well formed. */
export const checkChunk = (track: string, spec: Audio, samples: unknown): string | undefined => {
  if (!(samples instanceof Int16Array)) {
    return `audio for "${track}" must be an Int16Array of 16-bit PCM samples (${spec.channels} channel(s) interleaved)`
  }
  if (samples.length === 0) return `audio for "${track}" is empty`
  if (samples.length % spec.channels !== 0) {
    return `audio for "${track}" has ${samples.length} samples, not a multiple of its ${spec.channels} channels`
  }
  const frames = samples.length / spec.channels
  if (frames > spec.sampleRate * maxChunkSeconds) {
    return `audio for "${track}" is ${
      (frames / spec.sampleRate).toFixed(2)
    } s long; a chunk holds at most ${maxChunkSeconds} s`
  }
  return undefined
}

/** An audio chunk on its way out, with its place on its track. */
export interface OutAudio {
  readonly track: string
  /** 0-based index of the chunk on its track in this session. */
  readonly index: number
  readonly sampleRate: number
  readonly channels: 1 | 2
  /** Interleaved 16-bit PCM. */
  readonly samples: Int16Array
  /** When the model emitted it, and when it was released to play (epoch ms). */
  readonly generatedAt: number
  readonly emittedAt: number
}
