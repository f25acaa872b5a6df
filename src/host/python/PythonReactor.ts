/**
 * The reactor of a Python model (`reactor run model.py`): `workers` Python processes, each loading the model once
 * and running one session at a time, behind the same `Reactor.Service` the server uses for any model.
 *
 * The sessions are the runtime's own (`Session`): the commands the Python side declared are rebuilt as the runtime's
 * command group (`Commands`), so validation, capabilities and errors are a TypeScript model's; the session's
 * "model" forwards each command to the Python method and each frame block from `emit_block` to the pacer, granting
 * the process one block of credit per block taken (a generator faster than real time waits in `emit_block`).
 *
 * A stop asks the Python session to stop (`should_stop()` turns true) and waits for `start_session` to return; a
 * loop that is still running past the deadline gets its process killed (the session ends `deadline_exceeded`), and a
 * fresh process is loaded before the slot takes the next session. A process that dies (an exception out of
 * `start_session`, `sys.exit`, a segfault) ends its session with `model_failed` and the traceback's last lines, and
 * is started again.
 */
import {
  Data,
  Deferred,
  Effect,
  ExecutionStrategy,
  Exit,
  Fiber,
  Layer,
  Queue,
  Ref,
  Runtime,
  Schedule,
  Scope,
  Stream
} from "effect"
import { existsSync, readFileSync } from "node:fs"
import { parse as parseYaml } from "yaml"
import * as Capabilities from "../../model/Capabilities.js"
import * as Command from "../../model/Command.js"
import * as Input from "../../model/Input.js"
import * as Model from "../../model/Model.js"
import * as Output from "../../model/Output.js"
import * as Overrides from "../../model/Overrides.js"
import { SessionContext, type Viewer } from "../../model/SessionContext.js"
import * as Metrics from "../../session/Metrics.js"
import * as Reactor from "../../session/Reactor.js"
import * as Commands from "./Commands.js"
import * as Process from "./Process.js"

/** Options of a Python reactor. */
export interface Options extends Reactor.Options {
  /** The model file (`.py`). */
  readonly module: string
  /** The interpreter: default `REACTOR_PYTHON`, else `python3` from PATH. */
  readonly python?: string | undefined
  /** Model processes, each loaded once and running one session at a time. Default 1. */
  readonly workers?: number | undefined
  /** The model's config (a `-c` file's model section) and `--model.key=value` overrides. */
  readonly config?: {
    readonly source: string
    readonly value: unknown
    readonly overrides?: ReadonlyArray<Overrides.Override>
  }
}

/** The model did not load. */
export class PythonHostError extends Data.TaggedError("PythonHostError")<{ readonly message: string }> {}

/** The interpreter `reactor run x.py` uses: the flag, then `REACTOR_PYTHON`, then `python3`. */
export const interpreter = (flag?: string): string => flag ?? process.env.REACTOR_PYTHON ?? "python3"

/** How long past the stop deadline a loop may take before its process is killed: the answer's own trip. */
const answerSlackMs = 250

/** Input frames waiting in the socket above which a new one is dropped (the model reads the latest anyway). */
const inputBacklogBytes = 4 * 1024 * 1024

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const mergeDeep = (base: unknown, over: unknown): unknown => {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over
  const out: Json = { ...base }
  for (const [key, value] of Object.entries(over)) out[key] = mergeDeep(base[key], value)
  return out
}

/** A command's payload as JSON for the Python process: an uploaded file's bytes travel as base64. */
const toPython = (payload: unknown): unknown =>
  isObject(payload)
    ? Object.fromEntries(
      Object.entries(payload).map(([key, value]) =>
        isObject(value) && value.bytes instanceof Uint8Array
          ? [key, {
            name: value.name,
            mime_type: value.mimeType,
            base64: Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength).toString("base64")
          }]
          : [key, value]
      )
    )
    : payload

/** A JSON Schema of a config's current values: overrides of a number key read as numbers, of a string as text. */
const schemaOf = (value: unknown): Json => {
  if (isObject(value)) {
    return { type: "object", properties: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, schemaOf(v)])) }
  }
  if (typeof value === "number") return { type: "number" }
  if (typeof value === "string") return { type: "string" }
  return {}
}

/** The config `__init__` gets: the `@model(config=...)` file, then the `-c` file's keys, then the overrides. */
export const configOf = (declaration: Process.Declaration, options: Options): Effect.Effect<unknown, PythonHostError> =>
  Effect.try({
    try: () => {
      const file = declaration.config_file
      let defaults: unknown = {}
      if (file !== null && file !== undefined) {
        if (!existsSync(file)) throw new Error(`its @model config file ${file} does not exist`)
        defaults = parseYaml(readFileSync(file, "utf8")) ?? {}
        if (!isObject(defaults)) throw new Error(`its @model config file ${file} is not a mapping of keys`)
      }
      const merged = mergeDeep(defaults, options.config?.value ?? {})
      return Overrides.apply(merged, options.config?.overrides ?? [], schemaOf(merged))
    },
    catch: (error) => new PythonHostError({ message: `model ${options.module}: ${(error as Error).message}` })
  })

/** What the runtime side knows of a Python model: its declaration as a `Model.Declared`. */
export const declaredOf = (declaration: Process.Declaration): Model.Declared => {
  const commands = Commands.toGroup(declaration.commands)
  const inputs: Record<string, Input.Video> = {}
  for (const input of declaration.inputs) {
    inputs[input.name] = Input.video({
      description: input.description,
      maxWidth: input.max_width,
      maxHeight: input.max_height
    })
  }
  return {
    name: declaration.name,
    version: declaration.version ?? undefined,
    description: declaration.description ?? undefined,
    commands,
    capabilities: Capabilities.ofGroup(commands),
    inputs: Input.checkDeclared(declaration.name, inputs),
    ...(declaration.audio !== undefined && declaration.audio.length > 0
      ? {
        outputs: Output.checkDeclared(declaration.name, {
          [declaration.output]: Output.video(),
          ...Object.fromEntries(declaration.audio.map((track) => [
            track.name,
            Output.audio({
              description: track.description,
              sampleRate: track.sample_rate,
              channels: track.channels === 2 ? 2 : 1
            })
          ]))
        }, inputs)
      }
      : {}),
    frameSize: { width: 640, height: 360 }
  }
}

/** One model process slot: its process while it is ready, whether a session holds it. */
interface Slot {
  readonly index: number
  process: Process.PythonProcess | undefined
  busy: boolean
}

/** An item of a session's feed from its process, taken in order by the session's loop. */
type Feed =
  | {
    readonly _tag: "Frames"
    readonly frames: ReadonlyArray<{ width: number; height: number; data: Uint8Array } | null>
  }
  | { readonly _tag: "Measure"; readonly on: boolean }
  | { readonly _tag: "Flush" }
  | { readonly _tag: "Audio"; readonly track: string; readonly samples: Int16Array }
  | { readonly _tag: "Ended"; readonly error: string | undefined }
  | { readonly _tag: "Lost"; readonly reason: string }

/** A Python model failed: `message` is the traceback's last lines, or how its process died. */
export class PythonModelError extends Data.TaggedError("PythonModelError")<{ readonly message: string }> {}

/** Builds the reactor in the current scope: every process is loaded before it returns. */
export const make = (options: Options): Effect.Effect<Reactor.Service, PythonHostError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const runtime = yield* Effect.runtime<never>()
    const python = interpreter(options.python)
    const workers = Math.max(1, Math.floor(options.workers ?? 1))
    const stopDeadlineMs = options.stopDeadlineMs ?? 5000
    const requested = options.maxSessions ?? 1
    const maxSessions = Math.min(requested, workers)
    if (requested > workers) {
      yield* Effect.logWarning(
        `a Python model runs one session per process: serving ${maxSessions} session(s) at once; ` +
          `use --workers ${requested} for ${requested}`
      )
    }
    const shuttingDown = yield* Ref.make(false)
    let config: unknown
    let declared: Model.Declared | undefined

    /** Starts and loads one process in a scope of its own (closing it ends the process). */
    const startProcess = Effect.gen(function*() {
      const processScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const loaded = yield* Effect.gen(function*() {
        const child = yield* Process.make({ module: options.module, python }).pipe(Scope.extend(processScope))
        if (declared === undefined) {
          config = yield* configOf(child.declaration, options)
          declared = yield* Effect.try({
            try: () => declaredOf(child.declaration),
            catch: (error) => new PythonHostError({ message: `model ${options.module}: ${(error as Error).message}` })
          })
        }
        yield* child.load(config)
        return child
      }).pipe(
        Effect.mapError((error) =>
          error._tag === "PythonHostError" ? error : new PythonHostError({ message: error.message })
        ),
        Effect.tapErrorCause(() => Scope.close(processScope, Exit.void))
      )
      return { child: loaded, processScope }
    })

    const slots: Array<Slot> = []

    // A Python process is a model host in /metrics, in the same series as a worker thread.
    const recorder = options.recorder
    const spawn = (slot: Slot): Effect.Effect<void, PythonHostError> =>
      Effect.gen(function*() {
        const loadStart = Date.now()
        const { child, processScope } = yield* startProcess
        recorder?.hostLoaded(Date.now() - loadStart)
        slot.process = child
        slot.busy = false
        yield* Effect.logInfo(
          `model "${
            declared!.name
          }" loaded in Python process ${child.pid} (worker ${slot.index}, Python ${child.declaration.python})`
        )
        // Forks are made interruptible: a fork inherits its parent's region, and this may run inside a layer.
        yield* child.lost.pipe(
          Effect.flatMap((reason) => onLost(slot, child, reason, processScope)),
          Effect.interruptible,
          Effect.forkIn(scope)
        )
      })

    const reload = (slot: Slot) =>
      spawn(slot).pipe(
        Effect.tapError((error) =>
          Effect.logError(`Python worker ${slot.index}: the model did not load again: ${error.message}`)
        ),
        Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.union(Schedule.spaced("30 seconds")))),
        Effect.ignore,
        Effect.interruptible,
        Effect.forkIn(scope)
      )

    const onLost = (slot: Slot, child: Process.PythonProcess, reason: string, processScope: Scope.CloseableScope) =>
      Effect.gen(function*() {
        if (slot.process === child) slot.process = undefined
        yield* Scope.close(processScope, Exit.void)
        if (yield* Ref.get(shuttingDown)) {
          recorder?.sink.add(Metrics.defs.modelHostsAlive, -1)
          return
        }
        recorder?.hostLost(lossCause(reason))
        yield* Effect.logWarning(
          `Python worker ${slot.index} (process ${child.pid}) is gone (${reason}); starting it again`
        )
        yield* reload(slot)
      })

    for (let index = 0; index < workers; index++) {
      slots.push({ index, process: undefined, busy: false })
    }
    // The first process declares the model (its commands, its config file); the others load beside each other.
    yield* spawn(slots[0]!)
    yield* Effect.forEach(slots.slice(1), spawn, { concurrency: "unbounded", discard: true })

    /**
     * A free, loaded slot; while none is (a process being started again after a crash or a kill, which takes seconds),
     * it looks again every 20 ms.
     */
    const acquire: Effect.Effect<{ slot: Slot; child: Process.PythonProcess }> = Effect.suspend(() => {
      const free = slots.find((slot) => slot.process !== undefined && !slot.busy && !slot.process.isLost())
      if (free === undefined) return Effect.zipRight(Effect.interruptible(Effect.sleep("20 millis")), acquire)
      free.busy = true
      return Effect.succeed({ slot: free, child: free.process! })
    })

    /** One session on a Python process: the behaviour the runtime's session runs. */
    const startSession = Effect.gen(function*() {
      const ctx = yield* SessionContext
      const { child, slot } = yield* acquire
      const sid = ctx.sessionId
      const feed = yield* Queue.unbounded<Feed>()
      const ended = yield* Deferred.make<string | undefined>()
      const send = (message: unknown) => Runtime.runFork(runtime)(ctx.send(message))
      const detach = child.attach(sid, {
        frames: (n, width, height, parts) =>
          Queue.unsafeOffer(feed, {
            _tag: "Frames",
            frames: parts === undefined
              ? Array.from({ length: n }, () => null)
              : parts.map((data) => ({ width, height, data }))
          }),
        message: send,
        measure: (on) => Queue.unsafeOffer(feed, { _tag: "Measure", on }),
        flush: () => Queue.unsafeOffer(feed, { _tag: "Flush" }),
        audio: (track, bytes) =>
          Queue.unsafeOffer(feed, { _tag: "Audio", track, samples: new Int16Array(bytes.slice().buffer) }),
        ended: (error) => {
          // A session that raised takes its process down with it: nothing more is sent to that process.
          if (error !== undefined && slot.process === child) slot.process = undefined
          Deferred.unsafeDone(ended, Exit.succeed(error))
          Queue.unsafeOffer(feed, { _tag: "Ended", error })
        }
      })
      const lostWatch = yield* Effect.forkIn(
        Effect.interruptible(
          Effect.flatMap(child.lost, (reason) => Effect.sync(() => Queue.unsafeOffer(feed, { _tag: "Lost", reason })))
        ),
        scope
      )
      child.send({ t: "start", sid, extra_args: ctx.extraArgs, window: 1 })

      /**
       * Ends the Python side of the session, once: asks it to stop and waits for `start_session` to return; past
       * the deadline, kills its process (a fresh one is started for the next session). Then frees the slot.
       */
      const finish = yield* Effect.cached(
        Effect.gen(function*() {
          if (!(yield* Deferred.isDone(ended)) && !child.isLost()) {
            child.send({ t: "stop", sid })
            const returned = yield* Deferred.await(ended).pipe(
              Effect.raceFirst(child.lost),
              // Interruptible inside this uninterruptible finalizer, so the race and the timeout can end their losers.
              Effect.interruptible,
              Effect.timeout(stopDeadlineMs + answerSlackMs),
              Effect.option
            )
            if (returned._tag === "None") {
              yield* Effect.logWarning(
                `session ${sid}: start_session did not return within ${stopDeadlineMs} ms of the stop; killing its Python process`
              )
              yield* child.kill(`session ${sid} did not stop within ${stopDeadlineMs} ms`)
            }
          }
          detach()
          yield* Fiber.interrupt(lostWatch)
          if (slot.process === child) slot.busy = false
        }).pipe(Effect.uninterruptible)
      )
      yield* Effect.addFinalizer(() => finish)

      const handlers: Record<string, (payload: unknown) => Effect.Effect<unknown, unknown>> = {}
      for (const command of declared!.capabilities) {
        handlers[command.name] = (payload) =>
          child.command(sid, command.name, toPython(payload)).pipe(
            Effect.catchTag("CommandRefused", (refused) => Command.refuse(refused.code, refused.message)),
            Effect.mapError((error) => error._tag === "CommandRefusal" ? error : new Error(error.message))
          )
      }

      const forwardInputs = Effect.forEach(
        Object.keys(declared!.inputs),
        (track) =>
          Stream.runForEach(ctx.input(track).frames, (frame) =>
            Effect.sync(() => {
              if (child.backlog() > inputBacklogBytes) return
              child.send({ t: "input", sid, track, w: frame.width, h: frame.height }, frame.data)
            })).pipe(Effect.forkScoped),
        { discard: true }
      )

      const loop: Effect.Effect<void, unknown> = Effect.gen(function*() {
        while (true) {
          const item = yield* Queue.take(feed)
          switch (item._tag) {
            case "Frames":
              yield* ctx.emit(item.frames)
              child.send({ t: "credit", sid, n: 1 })
              break
            case "Audio":
              yield* ctx.emitAudio(item.track, item.samples)
              child.send({ t: "credit", sid, n: 1 })
              break
            case "Measure":
              yield* item.on ? ctx.resumeMeasurement : ctx.pauseMeasurement
              break
            case "Flush":
              yield* ctx.flush
              break
            case "Ended":
              if (item.error !== undefined) return yield* new PythonModelError({ message: item.error })
              return
            case "Lost":
              if (yield* Deferred.isDone(ended)) continue
              return yield* new PythonModelError({ message: `the Python model process died: ${item.reason}` })
          }
        }
      })

      // the model's @connected / @disconnected methods, run in its process beside its commands
      const hook = (name: string) => (viewer: Viewer) =>
        Effect.sync(() => {
          if (!child.isLost()) child.send({ t: "hook", sid, hook: name, viewer })
        })
      return {
        handlers,
        run: Effect.scoped(Effect.zipRight(forwardInputs, loop)).pipe(Effect.ensuring(finish)),
        hooks: { connected: hook("connected"), disconnected: hook("disconnected") }
      }
    })

    const model: Model.Loaded = {
      ...declared!,
      config,
      startSession: startSession as Model.Loaded["startSession"]
    }
    // Shutdown: no process is started again from here on.
    yield* Effect.addFinalizer(() => Ref.set(shuttingDown, true))
    const inner = yield* Reactor.make({
      maxSessions,
      stopDeadlineMs,
      // The sessions run in this thread (the Python process is their model): they record here.
      recorder: options.recorder,
      ...(options.maxFps !== undefined ? { maxFps: options.maxFps } : {})
    }).pipe(Effect.provideService(Model.Model, model))
    return {
      ...inner,
      status: Effect.sync(() => (slots.every((slot) => slot.process !== undefined) ? "ok" : "loading"))
    } satisfies Reactor.Service
  })

/**
 * Why a Python process was lost, as the `cause` label of `reactor_model_host_restarts` (the worker host's causes):
 * killed for a session that outlived the stop deadline, or an exception, a non-zero exit or a signal (a crash), or a
 * clean exit.
 */
export const lossCause = (reason: string): "deadline" | "crash" | "exit" =>
  reason.startsWith("it was killed: ") && reason.includes("did not stop within")
    ? "deadline"
    : reason.startsWith("it exited with code 0")
    ? "exit"
    : "crash"

/** The Python reactor as a layer. */
export const layer = (options: Options): Layer.Layer<Reactor.Reactor, PythonHostError> =>
  Layer.scoped(Reactor.Reactor, make(options))
