/**
 * Recording (Reactor's `recording/*`): with `record` on, each session's output is encoded by ffmpeg (H.264, Main
 * profile) into HLS fMP4 segments on disk, `init.mp4` + `chunk_NNNNN.m4s` in a directory per session, and `clip`
 * answers an HLS playlist of any range of it (`GET /clips?session_id&start&end`). The timeline is media time: frames
 * are laid on a 30 fps grid by when they were shown (a pause longer than a second counts as one second), so a clip's
 * seconds are the viewer's seconds.
 *
 * Bounded: a session keeps at most `recordMaxSeconds` and `recordMaxBytes` of segments (older ones are deleted as
 * new ones close), a finished recording is deleted `recordRetentionMs` after its session ended, and recording never
 * holds a session: a missing or failing ffmpeg ends the recording, not the session. Each closed segment is journalled
 * as `chunk_ready` on `/events`.
 */
import { Context, Deferred, Effect, FiberMap, Layer, Option, type Scope } from "effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Events from "./Events.js"
import type { OutFrame } from "./FrameBus.js"
import * as Reactor from "./Reactor.js"
import type * as Session from "./Session.js"

/** The frame rate of the recorded grid. */
export const fps = 30

/** The init segment's file name. */
export const initFile = "init.mp4"

/** A media segment's file name. */
export const chunkFile = (index: number) => `chunk_${String(index).padStart(5, "0")}.m4s`

const chunkPattern = /^chunk_(\d{5,})\.m4s$/
/** File names a client may fetch. */
export const servable = /^(init\.mp4|chunk_\d{5,}\.m4s)$/
/** Session ids as the runtime makes them; anything else never reaches the file system. */
export const sessionIdPattern = /^[A-Za-z0-9_-]{1,64}$/
const manifestFile = "ffmpeg.m3u8"
const completeFile = ".complete"

/** The codec string of what is recorded (H.264 Main; level 3.1 up to 1280x720, 4.2 above), for Media Source. */
export const codecs = "avc1.4d401f"

/** The codec string of a recording of frames this size. */
export const codecsFor = (width: number, height: number) => (width * height <= 1280 * 720 ? codecs : "avc1.4d402a")

/** What `clip` answers. */
export type Clip =
  | { readonly _tag: "Playlist"; readonly body: string }
  /** The range's last segment is still being written: ask again after `retryAfter` seconds. */
  | { readonly _tag: "Pending"; readonly retryAfter: number }
  /** No such recording, or the range was deleted (retention). */
  | { readonly _tag: "Gone"; readonly message: string }
  | { readonly _tag: "Invalid"; readonly message: string }

/**
 * A clip a client asked for (Reactor's `clipReady`): its range on the recording's timeline and the playlist URL to
 * poll (202 until its last segment closes).
 */
export interface ClipResult {
  readonly session_id: string
  /** `snap` (the last seconds) or `recording` (all of it). */
  readonly kind: "snap" | "recording"
  readonly start_marker: number
  readonly end_marker: number
  readonly now_marker: number
  readonly predicted_ready_at_ms: number
  readonly playlist_url: string
}

/** The recorder. */
export interface Service {
  /** Whether sessions are recorded. */
  readonly enabled: boolean
  /** The directory of the recordings. */
  readonly root: string | undefined
  /**
   * The HLS playlist of `[start, end]` seconds of a session's recording; segment URIs are `chunkUrl(id, file)` with
   * `query` appended (a token, for a player that cannot send headers).
   */
  readonly clip: (sessionId: string, start: number, end: number, query?: string) => Effect.Effect<Clip>
  /**
   * Resolves a client's clip request at once (Reactor's `requestClip` / `requestRecording`): the last
   * `durationSeconds` (at most `recordMaxSeconds`), or the whole recording when undefined; `Failed` with the reason
   * when recording is off or nothing was recorded yet.
   */
  readonly request: (
    sessionId: string,
    durationSeconds: number | undefined
  ) => Effect.Effect<ClipResult | { readonly _tag: "Failed"; readonly reason: string }>
  /** The file behind a segment URI: `Gone` (no such recording), `undefined` (no such segment), or its path. */
  readonly file: (sessionId: string, name: string) => Effect.Effect<string | undefined | "Gone">
  /** Seconds recorded so far and the segments on disk, of a session (tests, `/clips` math). */
  readonly status: (sessionId: string) => Effect.Effect<
    { readonly seconds: number; readonly segments: ReadonlyArray<number>; readonly complete: boolean } | undefined
  >
}

/** The recorder's tag. */
export class Recorder extends Context.Tag("effect-reactor/session/Recorder")<Recorder, Service>() {}

/** The URI of a segment of a clip. */
export const chunkUrl = (sessionId: string, name: string) => `/clips/chunks/${sessionId}/${name}`

/** Where ffmpeg is (`FFMPEG_PATH` overrides); whether it exists is checked when a recording starts. */
export const ffmpegPath = process.env.FFMPEG_PATH ?? "ffmpeg"

interface Segment {
  readonly index: number
  readonly start: number
  readonly duration: number
}

/** The closed segments ffmpeg lists in its playlist, with their times on the recording's timeline. */
const readSegments = async (dir: string): Promise<{ segments: Array<Segment>; ended: boolean }> => {
  let text: string
  try {
    text = await fs.readFile(join(dir, manifestFile), "utf8")
  } catch {
    return { segments: [], ended: false }
  }
  const segments: Array<Segment> = []
  let duration: number | undefined
  let t = 0
  for (const line of text.split("\n")) {
    const extinf = /^#EXTINF:([\d.]+)/.exec(line)
    if (extinf !== null) duration = Number(extinf[1])
    const chunk = chunkPattern.exec(line.trim())
    if (chunk !== null && duration !== undefined) {
      segments.push({ index: Number(chunk[1]), start: t, duration })
      t += duration
      duration = undefined
    }
  }
  return { segments, ended: text.includes("#EXT-X-ENDLIST") }
}

/** The segment files on disk, by index. */
const onDisk = async (dir: string): Promise<Map<number, number>> => {
  const out = new Map<number, number>()
  let names: Array<string>
  try {
    names = await fs.readdir(dir)
  } catch {
    return out
  }
  for (const name of names) {
    const match = chunkPattern.exec(name)
    if (match === null) continue
    const size = await fs.stat(join(dir, name)).then((s) => s.size, () => undefined)
    if (size !== undefined) out.set(Number(match[1]), size)
  }
  return out
}

const ffmpegArgs = (dir: string, width: number, height: number, segmentSeconds: number) => [
  "-hide_banner",
  "-loglevel",
  "error",
  "-f",
  "rawvideo",
  "-pix_fmt",
  "rgb24",
  "-s",
  `${width}x${height}`,
  "-r",
  String(fps),
  "-i",
  "pipe:0",
  "-an",
  // even dimensions for 4:2:0
  "-vf",
  "scale=trunc(iw/2)*2:trunc(ih/2)*2",
  "-c:v",
  "libx264",
  "-preset",
  "veryfast",
  "-tune",
  "zerolatency",
  "-pix_fmt",
  "yuv420p",
  "-profile:v",
  "main",
  "-level",
  width * height <= 1280 * 720 ? "3.1" : "4.2",
  // a keyframe on every segment boundary
  "-g",
  String(fps * segmentSeconds),
  "-keyint_min",
  String(fps * segmentSeconds),
  "-sc_threshold",
  "0",
  "-f",
  "hls",
  "-hls_time",
  String(segmentSeconds),
  "-hls_list_size",
  "0",
  "-hls_segment_type",
  "fmp4",
  "-hls_fmp4_init_filename",
  initFile,
  "-hls_flags",
  "independent_segments",
  "-hls_segment_filename",
  join(dir, "chunk_%05d.m4s"),
  join(dir, manifestFile)
]

/** Whether an ffmpeg can be started here. */
export const ffmpegAvailable = (): boolean => {
  if (process.env.FFMPEG_PATH !== undefined) return existsSync(process.env.FFMPEG_PATH)
  return (process.env.PATH ?? "").split(":").some((dir) => dir !== "" && existsSync(join(dir, "ffmpeg")))
}

/** Records one session into `dir` until it ends; never fails (a broken recording is logged and ends). */
const record = (
  session: Session.Session,
  dir: string,
  config: ServerConfig.ServerConfig,
  journal: Option.Option<Events.Service>,
  /** Told the recording's length in grid frames as it grows. */
  onWritten: (frames: number) => void
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Effect.promise(() => fs.mkdir(dir, { recursive: true }))
    const frames = yield* session.frames(64)
    const first = yield* Effect.race(Effect.map(frames.take, Option.some), Effect.as(session.ended, Option.none()))
    if (Option.isNone(first)) return
    const { height, width } = first.value.frame
    // Closed segments are announced, and the oldest deleted past the bounds.
    let announced = -1
    const maxSegments = Math.max(2, Math.floor(config.recordMaxSeconds / config.recordSegmentSeconds))
    const sweep = Effect.promise(async () => {
      const { segments } = await readSegments(dir)
      const closed = segments.filter((s) => s.index > announced).map((s) => s.index)
      const sizes = await onDisk(dir)
      const indexes = [...sizes.keys()].sort((a, b) => a - b)
      let bytes = indexes.reduce((sum, i) => sum + sizes.get(i)!, 0)
      while (indexes.length > 2 && (indexes.length > maxSegments || bytes > config.recordMaxBytes)) {
        const oldest = indexes.shift()!
        bytes -= sizes.get(oldest)!
        await fs.rm(join(dir, chunkFile(oldest)), { force: true })
      }
      return closed
    }).pipe(
      Effect.flatMap((closed) =>
        Effect.forEach(closed, (index) => {
          announced = Math.max(announced, index)
          return Option.isSome(journal)
            ? journal.value.publish("chunk_ready", session.id, {
              index,
              uri: chunkUrl(session.id, chunkFile(index))
            })
            : Effect.void
        }, { discard: true })
      )
    )
    // after ffmpeg has ended (finalizers run in reverse): the last segment is announced too
    yield* Effect.addFinalizer(() => sweep)
    const exited = yield* Deferred.make<number | null>()
    const child: ChildProcessWithoutNullStreams = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(ffmpegPath, ffmpegArgs(dir, width, height, config.recordSegmentSeconds), {
          stdio: ["pipe", "pipe", "pipe"]
        })
        let errors = ""
        child.stderr.on("data", (chunk: Buffer) => {
          if (errors.length < 4096) errors += chunk.toString()
        })
        child.stdout.resume()
        child.stdin.on("error", () => {})
        child.on("error", (error) => {
          Effect.runFork(Effect.logWarning(`recording session ${session.id}: cannot run ffmpeg: ${error.message}`))
          Deferred.unsafeDone(exited, Effect.succeed(-1))
        })
        child.on("exit", (code) => {
          if (code !== 0 && errors !== "") {
            Effect.runFork(Effect.logWarning(`recording session ${session.id}: ffmpeg: ${errors.trim()}`))
          }
          Deferred.unsafeDone(exited, Effect.succeed(code))
        })
        return child
      }),
      (child) =>
        Effect.gen(function*() {
          // The end of the input closes the last segment; a stuck encoder is killed.
          child.stdin.end()
          const done = yield* Deferred.await(exited).pipe(Effect.timeout(10_000), Effect.option)
          if (Option.isNone(done)) child.kill("SIGKILL")
          yield* Effect.promise(() => fs.writeFile(join(dir, completeFile), "").catch(() => undefined))
        })
    )

    const write = (data: Uint8Array) =>
      Effect.async<void>((resume) => {
        if (child.stdin.destroyed || child.exitCode !== null) return resume(Effect.void)
        if (child.stdin.write(data)) resume(Effect.void)
        else child.stdin.once("drain", () => resume(Effect.void))
      })
    let written = 0
    let mediaMs = 0
    let lastAt: number | undefined
    /** Lays a frame on the grid: written as often as grid slots passed since the last one (maybe not at all). */
    const put = (out: OutFrame) =>
      Effect.suspend(() => {
        if (out.frame.width !== width || out.frame.height !== height) return Effect.void
        if (lastAt !== undefined) mediaMs += Math.min(1000, Math.max(0, out.emittedAt - lastAt))
        lastAt = out.emittedAt
        const copies = Math.floor(mediaMs * fps / 1000) + 1 - written
        written += Math.max(0, copies)
        onWritten(written)
        return copies <= 0 ? Effect.void : Effect.repeatN(write(out.frame.data), copies - 1)
      })

    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(500), sweep)))

    yield* put(first.value)
    yield* Effect.race(
      Effect.forever(Effect.flatMap(frames.take, put)),
      Effect.race(session.ended, Deferred.await(exited))
    )
    // Closing the scope ends ffmpeg's input (its last segment closes); one last sweep announces it.
    yield* Effect.logDebug(`recording of session ${session.id}: ${written} frames`)
  }).pipe(Effect.catchAllCause((cause) => Effect.logWarning(`recording session ${session.id} failed`, cause)))

/** Builds the recorder: it starts a recording for every session the journal says started. */
export const make = Effect.gen(function*() {
  const config = yield* ServerConfig.Config
  if (!config.record) {
    const off: Service = {
      enabled: false,
      root: undefined,
      request: () => Effect.succeed({ _tag: "Failed", reason: "recording is off on this server" }),
      clip: () => Effect.succeed({ _tag: "Gone", message: "recording is off on this server (set record)" }),
      file: () => Effect.succeed("Gone"),
      status: () => Effect.succeed(undefined)
    }
    return off
  }
  const reactor = yield* Reactor.Reactor
  const journal = yield* Effect.serviceOption(Events.Events)
  const temporary = config.recordDir === undefined
  const root = config.recordDir ?? (yield* Effect.promise(() => fs.mkdtemp(join(tmpdir(), "reactor-recordings-"))))
  yield* Effect.promise(() => fs.mkdir(root, { recursive: true }))
  if (temporary) yield* Effect.addFinalizer(() => Effect.promise(() => fs.rm(root, { recursive: true, force: true })))
  if (!ffmpegAvailable()) {
    yield* Effect.logWarning(`recording is on but ffmpeg is not found (${ffmpegPath}): sessions are not recorded`)
  }
  const recordings = yield* FiberMap.make<string>()
  const reapers = yield* FiberMap.make<string>()
  const dirOf = (sessionId: string) => join(root, sessionId)
  /** Grid frames written so far, per live recording. */
  const lengths = new Map<string, number>()

  const start = (sessionId: string) =>
    Effect.gen(function*() {
      const session = yield* Reactor.lookup(reactor, sessionId)
      if (session === undefined) return
      const dir = dirOf(sessionId)
      const run = Effect.scoped(record(session, dir, config, journal, (frames) => lengths.set(sessionId, frames))).pipe(
        Effect.ensuring(Effect.sync(() => lengths.delete(sessionId))),
        // a finished recording stays for a while, then goes
        Effect.zipRight(
          FiberMap.run(
            reapers,
            sessionId,
            Effect.zipRight(
              Effect.sleep(config.recordRetentionMs),
              Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
            )
          )
        )
      )
      yield* FiberMap.run(recordings, sessionId, run)
    })

  if (Option.isSome(journal)) {
    yield* Effect.forkScoped(Effect.scoped(Effect.gen(function*() {
      const subscription = yield* journal.value.subscribe(undefined)
      yield* Effect.forever(
        Effect.flatMap(
          subscription.take,
          (entry) => entry.event.event === "session_started" ? start(entry.event.session_id) : Effect.void
        )
      )
    })))
  }

  const known = (sessionId: string) =>
    sessionIdPattern.test(sessionId)
      ? Effect.promise(() => fs.stat(dirOf(sessionId)).then((s) => s.isDirectory(), () => false))
      : Effect.succeed(false)

  const service: Service = {
    enabled: true,
    root,
    request: (sessionId, durationSeconds) =>
      Effect.sync(() => {
        const frames = lengths.get(sessionId)
        if (frames === undefined || frames === 0) {
          return { _tag: "Failed", reason: "no media recorded yet" } as const
        }
        const now = frames / fps
        const start = durationSeconds === undefined
          ? 0
          : Math.max(0, now - Math.min(durationSeconds, config.recordMaxSeconds))
        const segment = config.recordSegmentSeconds
        const untilClosed = (Math.floor(now / segment) + 1) * segment - now
        const query = new URLSearchParams({ session_id: sessionId, start: start.toFixed(3), end: now.toFixed(3) })
        return {
          session_id: sessionId,
          kind: durationSeconds === undefined ? "recording" : "snap",
          start_marker: start,
          end_marker: now,
          now_marker: now,
          predicted_ready_at_ms: Date.now() + Math.round(untilClosed * 1000),
          playlist_url: `/clips?${query.toString()}`
        } satisfies ClipResult
      }),
    clip: (sessionId, start, end, query = "") =>
      Effect.gen(function*() {
        if (!Number.isFinite(start) || start < 0) {
          return { _tag: "Invalid", message: "start must be a finite number of seconds >= 0" } as const
        }
        if (!Number.isFinite(end) || end <= start) {
          return { _tag: "Invalid", message: "end must be a finite number of seconds greater than start" } as const
        }
        if (!(yield* known(sessionId))) {
          return { _tag: "Gone", message: "no recording of that session: unknown, or aged out" } as const
        }
        const dir = dirOf(sessionId)
        const { ended, segments } = yield* Effect.promise(() => readSegments(dir))
        const complete = ended || existsSync(join(dir, completeFile))
        const last = segments.at(-1)
        const recorded = last === undefined ? 0 : last.start + last.duration
        // The range's end is not in a closed segment yet: ask again once the one being written closes.
        if (!complete && end > recorded) {
          return { _tag: "Pending", retryAfter: config.recordSegmentSeconds } as const
        }
        const present = yield* Effect.promise(() => onDisk(dir))
        const wanted = segments.filter((s) => s.start < end && s.start + s.duration > start && present.has(s.index))
        if (wanted.length === 0) {
          return {
            _tag: "Gone",
            message: recorded === 0 ? "nothing was recorded" : "that range is no longer kept (or was never recorded)"
          } as const
        }
        const suffix = query === "" ? "" : `?${query}`
        const target = Math.ceil(Math.max(...wanted.map((s) => s.duration)))
        const lines = [
          "#EXTM3U",
          "#EXT-X-VERSION:7",
          `#EXT-X-TARGETDURATION:${target}`,
          `#EXT-X-MEDIA-SEQUENCE:${wanted[0]!.index}`,
          "#EXT-X-PLAYLIST-TYPE:VOD",
          "#EXT-X-INDEPENDENT-SEGMENTS",
          `#EXT-X-MAP:URI="${chunkUrl(sessionId, initFile)}${suffix}"`
        ]
        for (const segment of wanted) {
          lines.push(
            `#EXTINF:${segment.duration.toFixed(3)},`,
            `${chunkUrl(sessionId, chunkFile(segment.index))}${suffix}`
          )
        }
        lines.push("#EXT-X-ENDLIST")
        return { _tag: "Playlist", body: lines.join("\n") + "\n" } as const
      }),
    file: (sessionId, name) =>
      Effect.gen(function*() {
        if (!(yield* known(sessionId))) return "Gone" as const
        if (!servable.test(name)) return undefined
        const path = join(dirOf(sessionId), name)
        return existsSync(path) ? path : undefined
      }),
    status: (sessionId) =>
      Effect.gen(function*() {
        if (!(yield* known(sessionId))) return undefined
        const dir = dirOf(sessionId)
        const { segments } = yield* Effect.promise(() => readSegments(dir))
        const present = yield* Effect.promise(() => onDisk(dir))
        const last = segments.at(-1)
        return {
          seconds: last === undefined ? 0 : last.start + last.duration,
          segments: [...present.keys()].sort((a, b) => a - b),
          complete: existsSync(join(dir, completeFile))
        }
      })
  }
  return service
})

/** The recorder as a layer (`record` off: a recorder that records nothing and answers every clip `Gone`). */
export const layer: Layer.Layer<Recorder, never, ServerConfig.Config | Reactor.Reactor> = Layer.scoped(Recorder, make)
