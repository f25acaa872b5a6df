/**
 * 07: a synthesiser. Commands play notes; the model sends three tracks: the sound (`main_audio`, 48 kHz mono), an
 * oscilloscope of it (`main_video`) and the keyboard with the keys being played (`keyboard`). Each frame carries the
 * synth's state as metadata. `npx reactor run examples/10-synth.ts`; with Reactor's SDK:
 * `<ReactorView track="keyboard" audioTrack="main_audio" muted={false} />`.
 */
import { Effect, Ref, Schedule, Schema } from "effect"
import { Command, Frame, Model, Output, Param } from "effect-reactor"
import { runIfMain } from "effect-reactor/cli"

/** The keys, C4 to C5. */
export const notes = ["C4", "C#4", "D4", "D#4", "E4", "F4", "F#4", "G4", "G#4", "A4", "A#4", "B4", "C5"] as const
export type Note = typeof notes[number]

/** A note's pitch (equal temperament, A4 = 440 Hz). */
export const frequency = (note: Note) => 440 * 2 ** ((notes.indexOf(note) - 9) / 12)

export const Commands = Command.group(
  Command.make("play_note", {
    description: "Play a note",
    payload: {
      note: Param.literal(notes, { description: "Which key" }),
      duration: Param.number({ min: 0.05, max: 10, default: 0.5, description: "How long it sounds (s)" })
    }
  }),
  Command.make("set_waveform", {
    description: "The oscillator's shape",
    payload: { waveform: Param.literal(["sine", "square", "saw"], { description: "Waveform" }) }
  }),
  Command.make("set_volume", {
    description: "How loud",
    payload: { volume: Param.number({ min: 0, max: 1, default: 0.5, description: "Volume" }) }
  }),
  Command.make("stop", { description: "Silence" })
)

export const Config = Schema.Struct({
  width: Param.int({ min: 64, max: 1920, default: 320, description: "Frame width" }),
  height: Param.int({ min: 32, max: 1080, default: 180, description: "Frame height" }),
  fps: Param.int({ min: 10, max: 60, default: 25, description: "Frames per second (audio goes in chunks of a frame)" })
})

type Waveform = "sine" | "square" | "saw"

interface Synth {
  readonly note: Note | undefined
  /** Seconds of sound left for the note. */
  readonly left: number
  readonly waveform: Waveform
  readonly volume: number
}

export const sampleRate = 48000

const oscillator = (waveform: Waveform, phase: number) =>
  waveform === "sine" ? Math.sin(2 * Math.PI * phase) : waveform === "square" ? (phase < 0.5 ? 1 : -1) : 2 * phase - 1

/** The keyboard: 8 white keys, black keys between, the played key red. */
const keyboard = (width: number, height: number, played: Note | undefined): Frame.Frame => {
  const data = new Uint8Array(width * height * 3)
  const whites = notes.filter((note) => !note.includes("#"))
  const keyWidth = width / whites.length
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const white = whites[Math.min(whites.length - 1, Math.floor(x / keyWidth))]!
      const edge = x % keyWidth < 1
      // a black key covers the right third of a white key and the left third of the next, in the top 60%
      const next = notes[notes.indexOf(white) + 1]
      const black = y < height * 0.6 && next?.includes("#") === true && x % keyWidth > keyWidth * 0.66
        ? next
        : undefined
      const key = black ?? white
      const rgb = key === played
        ? [220, 30, 30]
        : edge
        ? [60, 60, 60]
        : black !== undefined
        ? [20, 20, 20]
        : [240, 240, 240]
      data.set(rgb, (y * width + x) * 3)
    }
  }
  return Frame.make(width, height, data)
}

/** The oscilloscope: the chunk's samples as a bright trace on a dark background tinted by the waveform. */
const scope = (width: number, height: number, samples: Int16Array, waveform: Waveform): Frame.Frame => {
  const data = new Uint8Array(width * height * 3)
  const tint = waveform === "sine" ? [10, 20, 60] : waveform === "square" ? [10, 50, 20] : [60, 20, 10]
  for (let i = 0; i < width * height; i++) data.set(tint, i * 3)
  for (let x = 0; x < width; x++) {
    const sample = samples[Math.floor((x / width) * samples.length)]! / 32768
    const y = Math.round((0.5 - sample * 0.45) * (height - 1))
    data.set([255, 255, 160], (y * width + x) * 3)
  }
  return Frame.make(width, height, data)
}

export const model = Model.make(Commands, {
  name: "synth",
  config: Config,
  outputs: {
    main_video: Output.video({ description: "An oscilloscope of the sound" }),
    keyboard: Output.video({ description: "The keyboard, the key being played in red" }),
    main_audio: Output.audio({ description: "The synthesiser, 48 kHz mono", sampleRate, channels: 1 })
  },
  session: ({ config, ctx }) =>
    Effect.gen(function*() {
      const synth = yield* Ref.make<Synth>({ note: undefined, left: 0, waveform: "sine", volume: 0.5 })
      const perFrame = Math.round(sampleRate / config.fps)
      let phase = 0
      let first = true
      return {
        handlers: {
          play_note: ({ duration, note }) => Ref.update(synth, (s) => ({ ...s, note, left: duration })),
          set_waveform: ({ waveform }) => Ref.update(synth, (s) => ({ ...s, waveform })),
          set_volume: ({ volume }) => Ref.update(synth, (s) => ({ ...s, volume })),
          stop: () => Ref.update(synth, (s) => ({ ...s, note: undefined, left: 0 }))
        },
        // One frame's worth of sound per tick, and the pictures of it; the first tick sends some more sound, so a
        // late tick finds the sound still playing.
        run: Effect.gen(function*() {
          const s = yield* Ref.get(synth)
          const length = first ? perFrame * 3 : perFrame
          first = false
          const samples = new Int16Array(length)
          const playing = s.note !== undefined && s.left > 0
          if (playing) {
            const step = frequency(s.note!) / sampleRate
            for (let i = 0; i < length; i++) {
              // 5 ms fade in and out at the note's ends, so it does not click
              const fade = Math.min(1, (s.left * sampleRate - i) / 240)
              samples[i] = Math.round(32767 * s.volume * Math.max(0, fade) * oscillator(s.waveform, phase))
              phase = (phase + step) % 1
            }
          }
          const left = Math.max(0, s.left - length / sampleRate)
          yield* Ref.update(synth, (now) => (now.note === s.note && now.left === s.left ? { ...now, left } : now))
          yield* ctx.emitAudio("main_audio", samples)
          yield* ctx.emit(scope(config.width, config.height, samples, s.waveform), {
            tracks: { keyboard: keyboard(config.width, Math.round(config.height / 3), playing ? s.note : undefined) },
            metadata: { note: playing ? s.note : null, waveform: s.waveform, volume: s.volume }
          })
        }).pipe(Effect.repeat(Schedule.fixed(1000 / config.fps)))
      }
    })
})

export default model

runIfMain(import.meta, model)
