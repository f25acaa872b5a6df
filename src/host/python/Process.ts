/**
 * One Python model process, seen from the runtime: spawned with the model file, connected over a Unix socket
 * (`Wire`), declaring the model (its `hello`), then loading it with the config the runtime sends. Afterwards it runs
 * sessions one at a time: each session's frames, messages and end reach the callbacks attached for it, and commands
 * are requests answered by the process.
 *
 * The process is lost when it exits for any reason (a crash, `sys.exit`, a segfault, a kill): `lost` completes with
 * how it went, including the last lines it wrote to stderr (Python's traceback, or faulthandler's dump on a fatal
 * signal), and every pending request fails at once.
 */
import { Data, Deferred, Effect, Exit, Queue, Runtime, Schedule, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Wire from "./Wire.js"

/** One parameter of a command as Python declares it (a JSON Schema property). */
export interface ParamDeclaration {
  readonly type: "string" | "integer" | "number" | "boolean" | "object"
  /** `reactor-upload-reference` for an `UploadedFile` parameter. */
  readonly format?: string
  readonly enum?: ReadonlyArray<string>
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly exclusiveMaximum?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly description?: string
  readonly default?: unknown
}

/** One command as Python declares it: its parameters as a JSON Schema object, in signature order. */
export interface CommandDeclaration {
  readonly name: string
  readonly description: string
  readonly method: string
  readonly schema: {
    readonly type: "object"
    readonly properties: Readonly<Record<string, ParamDeclaration>>
    readonly required: ReadonlyArray<string>
  }
  /** The method declares a return type: what it returns is the command's reply. */
  readonly returns?: boolean
}

/** What a Python model declares before it is loaded. */
export interface Declaration {
  readonly name: string
  readonly version?: string | null
  readonly description?: string | null
  readonly commands: ReadonlyArray<CommandDeclaration>
  readonly output: string
  /** The model's `AudioOut` tracks (absent from older hosts). */
  readonly audio?: ReadonlyArray<
    { readonly name: string; readonly description: string; readonly sample_rate: number; readonly channels: number }
  >
  readonly inputs: ReadonlyArray<
    { readonly name: string; readonly description: string; readonly max_width: number; readonly max_height: number }
  >
  /** The `@model(config=...)` file, resolved next to the model file. */
  readonly config_file: string | null
  readonly pid: number
  readonly python: string
}

/** What a session's callbacks receive from the process. */
export interface SessionEvents {
  /** A block of `n` frames; `parts` undefined = black frames. */
  readonly frames: (n: number, width: number, height: number, parts: ReadonlyArray<Uint8Array> | undefined) => void
  readonly message: (data: unknown) => void
  readonly measure: (on: boolean) => void
  /** The model flushed (`get_ctx().flush()`): what it emitted before is dropped, the picture cut to black. */
  readonly flush?: () => void
  /** A chunk of 16-bit little-endian PCM for an audio track. */
  readonly audio?: (track: string, bytes: Uint8Array) => void
  /** `start_session` returned (`error` undefined) or raised (the traceback's last lines). */
  readonly ended: (error: string | undefined) => void
}

/** The model did not declare or load: the message says why (a traceback's last lines, a schema error). */
export class PythonLoadError extends Data.TaggedError("PythonLoadError")<{ readonly message: string }> {}

/** A request the process could not answer: it is gone. */
export class ProcessGone extends Data.TaggedError("ProcessGone")<{ readonly reason: string }> {
  override get message() {
    return `the Python model process is gone: ${this.reason}`
  }
}

/** A Python model process. */
export interface PythonProcess {
  readonly pid: number
  readonly declaration: Declaration
  /** Builds the model (`__init__(config)`), once. */
  readonly load: (config: unknown) => Effect.Effect<void, PythonLoadError>
  readonly send: (header: Record<string, unknown>, payload?: Uint8Array) => void
  /** Bytes written and not yet taken by the process (input frames are dropped above a bound). */
  readonly backlog: () => number
  /** Routes a session's events to `events` until the returned function is called. */
  readonly attach: (session: string, events: SessionEvents) => () => void
  /**
   * Runs a command in the process; answers what the method returned (a command that declares a reply), or fails
   * with the Python error's `Type: message`, the model's own `CommandError`, or `ProcessGone`.
   */
  readonly command: (
    session: string,
    name: string,
    args: unknown
  ) => Effect.Effect<unknown, ProcessGone | CommandRaised | CommandRefused>
  /** Completes with how the process ended. */
  readonly lost: Effect.Effect<string>
  readonly isLost: () => boolean
  /** Kills the process (SIGKILL) and waits until it is gone. */
  readonly kill: (why: string) => Effect.Effect<void>
}

/** A command's method raised; `message` is the Python error as `Type: message`. */
export class CommandRaised extends Data.TaggedError("CommandRaised")<{ readonly message: string }> {}

/** A command's method raised the model's own `CommandError(code, message)`. */
export class CommandRefused extends Data.TaggedError("CommandRefused")<{
  readonly code: string
  readonly message: string
}> {}

/** Where to start a process. */
export interface Options {
  /** The model file. */
  readonly module: string
  /** The interpreter (a path or a name on PATH). */
  readonly python: string
  /** How long spawning and declaring may take. Default 60 s. */
  readonly startTimeoutMs?: number
}

/** The folder holding the `reactor_runtime` package (put on the child's PYTHONPATH). */
export const packageRoot = (): string => fileURLToPath(new URL("../../../python", import.meta.url))

const stderrLines = 40

/** The last lines the process wrote to stderr that say what went wrong. */
const lastLines = (lines: ReadonlyArray<string>, count: number) =>
  lines.filter((line) => line.trim() !== "").slice(-count).join("\n")

/**
 * Spawns a process, connects to it, and waits for its declaration, in the current scope (closing it ends the
 * process). Fails with `PythonLoadError` when the file does not import, declares no model or an unsupported schema.
 */
export const make = (options: Options): Effect.Effect<PythonProcess, PythonLoadError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const log = (line: string) => Runtime.runFork(runtime)(Effect.logInfo(`[python] ${line}`))
    const dir = mkdtempSync(join(tmpdir(), "reactor-py-"))
    const path = join(dir, "host.sock")
    const env = {
      ...process.env,
      REACTOR_SOCKET: path,
      PYTHONPATH: [packageRoot(), process.env.PYTHONPATH].filter((p) => p !== undefined && p !== "").join(delimiter),
      PYTHONUNBUFFERED: "1"
    }
    const lost = yield* Deferred.make<string>()
    const stderr: Array<string> = []
    let killedFor: string | undefined
    let child: ChildProcess
    try {
      child = spawn(options.python, ["-m", "reactor_runtime._host", options.module], {
        env,
        stdio: ["ignore", "pipe", "pipe"]
      })
    } catch (error) {
      return yield* new PythonLoadError({ message: `cannot start ${options.python}: ${String(error)}` })
    }
    const lines = (stream: NodeJS.ReadableStream | null, keep: boolean) => {
      let rest = ""
      stream?.setEncoding("utf8")
      stream?.on("data", (chunk: string) => {
        const parts = (rest + chunk).split("\n")
        rest = parts.pop() ?? ""
        for (const line of parts) {
          if (keep) {
            stderr.push(line)
            if (stderr.length > stderrLines) stderr.shift()
          }
          log(line)
        }
      })
      stream?.on("end", () => {
        if (rest !== "") {
          if (keep) stderr.push(rest)
          log(rest)
        }
      })
    }
    lines(child.stdout, false)
    lines(child.stderr, true)
    child.on("error", (error) => {
      Deferred.unsafeDone(lost, Exit.succeed(`${options.python} could not run: ${error.message}`))
    })
    child.on("close", (code, signal) => {
      const how = killedFor !== undefined
        ? `it was killed: ${killedFor}`
        : signal !== null
        ? `it died of ${signal}`
        : `it exited with code ${code}`
      const said = killedFor === undefined && code !== 0 ? lastLines(stderr, 8) : ""
      Deferred.unsafeDone(lost, Exit.succeed(said === "" ? how : `${how}:\n${said}`))
    })
    let lostDone = false
    yield* Effect.forkScoped(Effect.interruptible(Effect.tap(Deferred.await(lost), () =>
      Effect.sync(() => {
        lostDone = true
        for (const [, pending] of requests) pending(Exit.fail(new ProcessGone({ reason: "it exited" })))
        requests.clear()
      }))))

    const kill = (why: string) =>
      Effect.suspend(() => {
        if (!lostDone && killedFor === undefined) {
          killedFor = why
          child.kill("SIGKILL")
        }
        return Effect.asVoid(Deferred.await(lost))
      })

    // Closing: ask it to exit, then kill it whatever it is doing; the socket's folder goes.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        if (!lostDone && socket !== undefined) Wire.write(socket, { t: "shutdown" })
        yield* Deferred.await(lost).pipe(Effect.interruptible, Effect.timeout(1000), Effect.ignore)
        yield* kill("the runtime closed it")
        socket?.destroy()
        rmSync(dir, { recursive: true, force: true })
      })
    )

    // Messages before the model is loaded (its declaration, the load's answer).
    const control = yield* Queue.unbounded<Record<string, unknown>>()
    const sessions = new Map<string, SessionEvents>()
    const requests = new Map<
      number,
      (exit: Exit.Exit<unknown, ProcessGone | CommandRaised | CommandRefused>) => void
    >()
    let seq = 0

    const dispatch = ({ header, parts }: Wire.Message) => {
      const events = typeof header.sid === "string" ? sessions.get(header.sid) : undefined
      switch (header.t) {
        case "frames":
          events?.frames(
            header.n as number,
            header.w as number,
            header.h as number,
            header.black === true ? undefined : parts
          )
          return
        case "message":
          events?.message(header.data)
          return
        case "audio":
          if (typeof header.track === "string" && parts[0] !== undefined) events?.audio?.(header.track, parts[0])
          return
        case "measure":
          events?.measure(header.on === true)
          return
        case "flush":
          events?.flush?.()
          return
        case "ended":
          events?.ended(typeof header.error === "string" ? header.error : undefined)
          return
        case "reply": {
          const pending = requests.get(header.seq as number)
          requests.delete(header.seq as number)
          const refused = header.refused as { readonly code?: unknown; readonly message?: unknown } | undefined
          pending?.(
            typeof header.error === "string"
              ? Exit.fail(new CommandRaised({ message: header.error }))
              : typeof refused === "object" && refused !== null
              ? Exit.fail(new CommandRefused({ code: String(refused.code), message: String(refused.message) }))
              : Exit.succeed(header.value)
          )
          return
        }
        default:
          Queue.unsafeOffer(control, header)
      }
    }

    let socket: Socket | undefined
    const attempt = Effect.async<Socket, Error>((resume) => {
      const candidate = connect({ path, onread: Wire.reader(dispatch) })
      const onError = (error: Error) => resume(Effect.fail(error))
      candidate.once("error", onError)
      candidate.once("connect", () => {
        candidate.off("error", onError)
        resume(Effect.succeed(candidate))
      })
    })
    const started = options.startTimeoutMs ?? 60_000
    socket = yield* attempt.pipe(
      Effect.retry({ schedule: Schedule.spaced("20 millis"), while: () => !lostDone }),
      Effect.raceFirst(Effect.flatMap(Deferred.await(lost), (reason) => Effect.fail(new Error(reason)))),
      // Races and timeouts must be able to end their losers, even where this runs uninterruptibly (a layer).
      Effect.interruptible,
      Effect.timeoutFail({
        duration: started,
        onTimeout: () => new Error(`it did not start within ${started} ms`)
      }),
      Effect.mapError((error) =>
        new PythonLoadError({ message: `the Python model process did not start: ${error.message}` })
      )
    )
    const connected = socket
    // The process closes its end as it exits; `lost` completes on its exit, with the reason.
    connected.on("error", () => {})

    /** The next control message, or the process's end as a load error. */
    const next = Effect.raceFirst(
      Queue.take(control),
      Effect.flatMap(Deferred.await(lost), (reason) => Effect.fail(new PythonLoadError({ message: reason })))
    ).pipe(Effect.interruptible)
    const hello = yield* next
    if (hello.t === "load_failed") return yield* new PythonLoadError({ message: String(hello.error) })
    if (hello.t !== "hello") return yield* new PythonLoadError({ message: `unexpected first message ${hello.t}` })
    const declaration = hello as unknown as Declaration

    return {
      pid: child.pid ?? declaration.pid,
      declaration,
      load: (config) =>
        Effect.gen(function*() {
          Wire.write(connected, { t: "load", config })
          const answer = yield* next
          if (answer.t === "load_failed") return yield* new PythonLoadError({ message: String(answer.error) })
          if (answer.t !== "loaded") {
            return yield* new PythonLoadError({ message: `unexpected answer to load: ${answer.t}` })
          }
        }),
      send: (header, payload) => {
        if (!lostDone) Wire.write(connected, header, payload)
      },
      backlog: () => connected.writableLength,
      attach: (session, events) => {
        sessions.set(session, events)
        return () => {
          if (sessions.get(session) === events) sessions.delete(session)
        }
      },
      command: (session, name, args) =>
        Effect.async<unknown, ProcessGone | CommandRaised | CommandRefused>((resume) => {
          if (lostDone) return resume(Effect.fail(new ProcessGone({ reason: "it exited" })))
          const id = ++seq
          requests.set(id, (exit) => resume(exit))
          Wire.write(connected, { t: "command", sid: session, seq: id, name, args })
          return Effect.sync(() => requests.delete(id))
        }),
      lost: Deferred.await(lost),
      isLost: () => lostDone,
      kill
    } satisfies PythonProcess
  })
