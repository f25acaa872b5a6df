/**
 * The headless runtime: one session of the model, no network. It prints the command list, reads commands from stdin
 * (one per line, JSON or `name key=value`), prints an error for a bad line and goes on, prints periodic stats, may
 * write frames as PNG images, and stops cooperatively at end of input, after `--frames`/`--seconds`, or on a signal,
 * printing why the session ended.
 */
import { Console, Deferred, Effect, Either, Exit, Fiber, Schedule, Stream } from "effect"
import { createInterface } from "node:readline"
import * as CommandError from "../protocol/CommandError.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Reactor from "../session/Reactor.js"
import type * as Session from "../session/Session.js"
import * as CommandLine from "./CommandLine.js"
import * as CommandList from "./CommandList.js"
import * as FrameWriter from "./FrameWriter.js"

/** Options of a headless run. */
export interface Options {
  /** Seconds between two stats lines; 0 turns them off. Default 2. */
  readonly statsEvery?: number
  /** A folder to write frames to as PNG images. */
  readonly out?: string | undefined
  /** With `out`: write every Nth frame only. Default 1. */
  readonly every?: number
  /** Stop after this many frames. */
  readonly frames?: number | undefined
  /** Stop after this many seconds. */
  readonly seconds?: number | undefined
  /** The command lines; stdin by default. */
  readonly input?: Stream.Stream<string>
}

/** The lines of stdin; the reader is closed (and stdin released) when the stream ends or is interrupted. */
export const stdinLines: Stream.Stream<string> = Stream.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })),
      (lines) =>
        Effect.sync(() => {
          lines.close()
          process.stdin.destroy()
        })
    ),
    (lines) => Stream.fromAsyncIterable(lines, (error) => error).pipe(Stream.orDie)
  )
)

/** A stats line: frames, emission fps, dropped frames, command-to-frame latency. */
export const formatStats = (stats: Session.Stats): string =>
  [
    `stats: ${stats.framesEmitted} frames`,
    `${stats.emissionFps} fps`,
    `${stats.droppedFrames} dropped`,
    `command-to-frame ${
      stats.lastCommandToFrameMs === undefined ? "-" : `${Math.round(stats.lastCommandToFrameMs)} ms`
    }`,
    `commands ${stats.commandsApplied} applied / ${stats.commandsRejected} rejected`,
    `uptime ${(stats.uptimeMs / 1000).toFixed(1)} s`
  ].join(", ")

/** The line printed for a command the session refused. */
export const formatError = (error: CommandError.CommandError | CommandLine.LineError): string => {
  const wire = error._tag === "LineError" ? { code: error.code, message: error.message } : CommandError.toWire(error)
  return `error ${String(wire.code)}: ${String(wire.message)}`
}

/** Whether an end reason is a clean end (exit code 0). */
export const isClean = (reason: EndReason.EndReason): boolean =>
  EndReason.$is("Stopped")(reason) || EndReason.$is("ModelFinished")(reason) || EndReason.$is("Shutdown")(reason)

/**
 * Runs one headless session until it ends and returns its end reason. Interrupting it (a signal) stops the session
 * cooperatively first, so the model's finalizers run and the reason is printed either way.
 */
export const run = (options: Options = {}) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const model = reactor.model
    const listing = CommandList.render(model, model.capabilities)
    yield* Console.log(listing)
    const writer = options.out !== undefined
      ? yield* FrameWriter.make(options.out, { every: options.every ?? 1 })
      : undefined
    const limit = options.frames !== undefined && options.frames > 0 ? options.frames : undefined
    const stopRequest = yield* Deferred.make<EndReason.EndReason>()
    const requestStop = (by: string) => Deferred.succeed(stopRequest, EndReason.Stopped({ by }))

    const session = yield* Effect.acquireRelease(reactor.start(), (session, exit) =>
      Exit.isInterrupted(exit)
        ? session.stop(EndReason.Stopped({ by: "signal" })).pipe(
          Effect.flatMap((reason) => Console.log(`session ended: ${EndReason.describe(reason)}`))
        )
        : Effect.void)
    // Subscribe at once, before the model's first frames go by; a writer gets a deeper buffer.
    const frames = yield* session.frames(writer !== undefined ? 64 : 16)
    yield* Console.log(`session ${session.id} started`)

    const consume = Effect.gen(function*() {
      while (true) {
        const out = yield* frames.take
        if (limit !== undefined && out.index >= limit) continue
        if (writer !== undefined) yield* writer.write(out)
        if (limit !== undefined && out.index + 1 >= limit) yield* requestStop(`--frames ${limit} reached`)
      }
    })
    // A frame writer that fails stops the session; the run then fails with the writer's error.
    let writeError: FrameWriter.FrameWriteError | undefined
    const consumer = yield* Effect.forkScoped(consume.pipe(Effect.catchAll((error) => {
      writeError = error
      return requestStop("frame writer error")
    })))

    const handle = (line: string) =>
      Either.match(CommandLine.parse(line, model.capabilities), {
        onLeft: (error) => Console.log(formatError(error)),
        onRight: CommandLine.$match({
          Empty: () => Effect.void,
          Help: () => Console.log(listing),
          Command: ({ incoming }) =>
            session.submit(incoming).pipe(
              Effect.matchEffect({
                onFailure: (error) => Console.log(formatError(error)),
                onSuccess: (ack) =>
                  Console.log(
                    `ok ${ack.command} (from frame ${ack.frame})` +
                      ("result" in ack ? `: ${JSON.stringify(ack.result)}` : "")
                  )
              })
            )
        })
      })
    const input = options.input ?? stdinLines
    const hasLimit = limit !== undefined || options.seconds !== undefined
    yield* Effect.forkScoped(
      Stream.runForEach(input, handle).pipe(
        // With a frame or time limit, end of input does not end the run: `echo cmd | reactor ... --frames 90` works.
        Effect.zipRight(hasLimit ? Effect.void : requestStop("end of input"))
      )
    )

    const statsEvery = options.statsEvery ?? 2
    if (statsEvery > 0) {
      yield* Effect.forkScoped(
        Effect.zipRight(
          Effect.sleep(statsEvery * 1000),
          Effect.repeat(
            Effect.flatMap(session.stats, (stats) => Console.log(formatStats(stats))),
            Schedule.spaced(statsEvery * 1000)
          )
        )
      )
    }
    if (options.seconds !== undefined) {
      yield* Effect.forkScoped(
        Effect.delay(requestStop(`--seconds ${options.seconds} elapsed`), options.seconds * 1000)
      )
    }

    const reason = yield* Effect.raceFirst(
      session.ended,
      Effect.flatMap(Deferred.await(stopRequest), session.stop)
    )
    // The session has ended and its frame stream is closed: the consumer writes the frames still buffered (and
    // finishes the one in hand), then ends; only then is the count of frames written final.
    yield* Fiber.await(consumer)
    const stats = yield* session.stats
    yield* Console.log(formatStats(stats))
    if (writer !== undefined) yield* Console.log(`${yield* writer.written} frames written to ${writer.dir}`)
    yield* Console.log(`session ended: ${EndReason.describe(reason)}`)
    if (writeError !== undefined) return yield* writeError
    return reason
  }).pipe(Effect.scoped, Effect.withSpan("Headless.run"))
