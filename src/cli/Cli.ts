/**
 * The `reactor` command line: `reactor run <module> [-c config.yaml] [--runtime http|headless] [--model.key=value ...]`.
 * Reactor-style `--model.*` overrides are taken out of argv first (they are not `@effect/cli` options), the rest is
 * parsed by `@effect/cli`. Every expected failure ends as one line on stderr and a non-zero exit.
 */
import { Args, CliConfig, Command, HelpDoc, Options } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Layer, Logger, Option } from "effect"
import { resolve } from "node:path"
import * as ConfigFile from "../config/ConfigFile.js"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Isolation from "../host/Isolation.js"
import * as ModelModule from "../host/ModelModule.js"
import * as Model from "../model/Model.js"
import * as Overrides from "../model/Overrides.js"
import * as EndReason from "../protocol/EndReason.js"
import * as Tracing from "../session/Tracing.js"
import * as ClusterOptions from "./ClusterOptions.js"
import * as Fatal from "./Fatal.js"

/** A model already in memory (the entry module of `runIfMain`), used instead of importing its file again. */
export interface Preloaded {
  readonly module: string
  readonly model: ModelModule.ModelLayer
}

const modelHelp = "A module is a .ts or .js file whose default export, or named export `model`, is the layer " +
  "`Model.make` returns, or a .py file written against Reactor's Python API (VideoModel, @command, get_ctx)."

const options = {
  module: Args.file({ name: "module" }).pipe(Args.withDescription(`The model module to run. ${modelHelp}`)),
  config: Options.file("config").pipe(
    Options.withAlias("c"),
    Options.withDescription(
      "A YAML config file: the model's config keys at the top level, plus an optional " +
        "`server:` section for the HTTP runtime (host, port, max_sessions, token, cors, ...). `--model.key=value` overrides a key (`--model.a.b=1` " +
        "for nested keys); values are typed by the model's config schema. Defaults come from the schema."
    ),
    Options.optional
  ),
  runtime: Options.choice("runtime", ["http", "headless"]).pipe(
    Options.withDescription(
      "http: serve sessions over HTTP + WebSocket. headless: run one session here, no network: " +
        "commands are read from stdin, one per line."
    ),
    Options.withDefault("http" as const)
  ),
  isolation: Options.choice("isolation", ["worker", "none"]).pipe(
    Options.withDescription(
      "worker: the model runs in worker threads, apart from the server, so that it can neither " +
        "freeze the server nor outlive a stop deadline. none: the model runs in the server's own thread (cheaper, " +
        "but a model that blocks the thread blocks everything)."
    ),
    Options.withDefault("worker" as const)
  ),
  python: Options.text("python").pipe(
    Options.withDescription(
      "A .py model: the Python interpreter to run it with, e.g. a virtualenv's bin/python " +
        "(default: env REACTOR_PYTHON, else python3 from PATH)."
    ),
    Options.optional
  ),
  workers: Options.integer("workers").pipe(
    Options.withDescription(
      "worker isolation: copies of the model, each loaded once in its own thread; each new " +
        "session goes to the least-loaded copy (default 1)."
    ),
    Options.withDefault(1)
  ),
  workerHeapMb: Options.integer("worker-heap-mb").pipe(
    Options.withDescription(
      "worker isolation: each model thread's heap limit in MB (default 4096); a model over it ends its " +
        "sessions with model_failed (\"it ran out of memory\") and is loaded again."
    ),
    Options.optional
  ),
  exposeModelErrors: Options.choice("expose-model-errors", ["on", "off"]).pipe(
    Options.withDescription(
      "http: whether a model's own error texts (handler_failed, model failed) reach clients; off, a client gets " +
        "an error reference and the server log the text. Default: on when bound to loopback (localhost), else off."
    ),
    Options.optional
  ),
  host: Options.text("host").pipe(
    Options.withDescription(
      `http: the address to listen on (default ${ServerConfig.defaults.host}; env REACTOR_HOST).`
    ),
    Options.optional
  ),
  port: Options.integer("port").pipe(
    Options.withDescription(`http: the port to listen on (default ${ServerConfig.defaults.port}; env REACTOR_PORT).`),
    Options.optional
  ),
  maxSessions: Options.integer("max-sessions").pipe(
    Options.withDescription(
      `http: sessions at once (default ${ServerConfig.defaults.maxSessions}; env REACTOR_MAX_SESSIONS).`
    ),
    Options.optional
  ),
  token: Options.text("token").pipe(
    Options.withDescription("http: a bearer token every request must carry (default: env REACTOR_TOKEN; none = open)."),
    Options.optional
  ),
  logFormat: Options.choice("log-format", ["pretty", "json"]).pipe(
    Options.withDescription(
      "logs on stderr: pretty (default), or json (one object a line, with the session id and the trace id)."
    ),
    Options.withDefault("pretty")
  ),
  statsEvery: Options.float("stats-every").pipe(
    Options.withDescription("headless: seconds between stats lines; 0 turns them off."),
    Options.withDefault(2)
  ),
  out: Options.directory("out").pipe(
    Options.withDescription("headless: write frames to this folder as PNG images."),
    Options.optional
  ),
  every: Options.integer("every").pipe(
    Options.withDescription("headless, with --out: write every Nth frame only."),
    Options.withDefault(1)
  ),
  frames: Options.integer("frames").pipe(
    Options.withDescription("headless: stop after N frames (end of input then does not stop the run)."),
    Options.optional
  ),
  seconds: Options.float("seconds").pipe(
    Options.withDescription("headless: stop after S seconds (end of input then does not stop the run)."),
    Options.optional
  ),
  ...ClusterOptions.runnerOptions
}

type RunArgs = Command.Command.ParseConfig<typeof options>

/** The settings actually given (an option left out is no setting, so it does not hide the file's). */
const given = (options: ServerConfig.Input): ServerConfig.Input =>
  Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))

const fail = (message: string) => Effect.fail(new Fatal.Fatal({ message }))

const positive = (name: string, value: number | undefined, { zero = false } = {}) =>
  value === undefined || (Number.isFinite(value) && (zero ? value >= 0 : value > 0))
    ? Effect.void
    : fail(`--${name} must be ${zero ? "0 or more" : "more than 0"}, got ${value}`)

/** Runs one `reactor run` invocation. */
const execute = (args: RunArgs, overrides: ReadonlyArray<Overrides.Override>, preloaded: Preloaded | undefined) =>
  Effect.gen(function*() {
    const frames = Option.getOrUndefined(args.frames)
    const seconds = Option.getOrUndefined(args.seconds)
    yield* positive("frames", frames)
    yield* positive("seconds", seconds)
    yield* positive("every", args.every)
    yield* positive("stats-every", args.statsEvery, { zero: true })
    yield* positive("workers", args.workers)

    // A .py file is a Python model (Reactor's Python API): it runs in Python processes, never imported here.
    const isPython = args.module.endsWith(".py")
    const modelLayer = isPython
      ? undefined
      : preloaded !== undefined && resolve(preloaded.module) === resolve(args.module)
      ? preloaded.model
      : yield* ModelModule.load(args.module)

    const file = Option.getOrUndefined(args.config)
    const { model: value, server } = file === undefined
      ? { model: {}, server: {} }
      : yield* Effect.flatMap(ConfigFile.load(file), (loaded) => ConfigFile.sections(file, loaded))
    const heapMb = Option.getOrUndefined(args.workerHeapMb) ?? server.workerHeapMb
    yield* positive("worker-heap-mb", heapMb)
    const source = file ?? (overrides.length > 0 ? "command line" : "defaults")
    const configInput = Model.ConfigInput.layer({ source, value, overrides })
    const isolation: Isolation.Isolation = modelLayer === undefined
      ? {
        _tag: "Python",
        module: resolve(args.module),
        python: Option.getOrUndefined(args.python),
        workers: args.workers
      }
      : args.isolation === "worker"
      ? { _tag: "Worker", module: resolve(args.module), workers: args.workers, heapMb }
      : { _tag: "None", model: modelLayer }

    // Each runtime is loaded only when chosen: a quick start, and no HTTP stack in a headless run.
    if (args.runtime === "headless") {
      const Headless = yield* Effect.promise((): Promise<typeof import("./Headless.js")> => import("./Headless.js"))
      const reason = yield* Headless.run({
        statsEvery: args.statsEvery,
        out: Option.getOrUndefined(args.out),
        every: args.every,
        frames,
        seconds
      }).pipe(
        Effect.provide(Isolation.reactor(isolation, { maxSessions: 1 }).pipe(Layer.provide(configInput)))
      )
      if (!Headless.isClean(reason)) return yield* fail(`session ended: ${EndReason.describe(reason)}`)
      return
    }
    const HttpRunner = yield* Effect.promise((): Promise<typeof import("../server/HttpRunner.js")> =>
      import("../server/HttpRunner.js")
    )
    // The command line over the file's `server:` section; the environment and the defaults fill in the rest.
    const token = Option.getOrUndefined(args.token)
    const httpOptions: ServerConfig.Input = {
      ...server,
      ...given({
        host: Option.getOrUndefined(args.host),
        port: Option.getOrUndefined(args.port),
        maxSessions: Option.getOrUndefined(args.maxSessions),
        token: token === "" ? undefined : token,
        exposeModelErrors: Option.getOrUndefined(Option.map(args.exposeModelErrors, (choice) => choice === "on"))
      })
    }
    const join = Option.getOrUndefined(args.join)
    if (join !== undefined) {
      const cluster = yield* ClusterOptions.settings({ ...args, database: join })
      const Runner = yield* ClusterOptions.load((): Promise<typeof import("../cluster/Runner.js")> =>
        import("../cluster/Runner.js")
      )
      const address = {
        host: Option.getOrUndefined(args.clusterHost) ?? httpOptions.host ?? ServerConfig.defaults.host,
        port: args.clusterPort
      }
      const drainMs = Option.getOrUndefined(args.drainMs)
      yield* positive("drain-ms", drainMs, { zero: true })
      return yield* Runner.run(isolation, httpOptions, cluster, address, {
        drainMs,
        publicUrl: Option.getOrUndefined(args.publicUrl)
      }).pipe(Effect.provide(configInput), Effect.mapError(ClusterOptions.databaseFailure(cluster.database)))
    }
    yield* HttpRunner.run(isolation, httpOptions).pipe(Effect.provide(configInput))
  }).pipe(
    Effect.catchAll((error) =>
      Effect.fail(error instanceof Fatal.Fatal ? error : new Fatal.Fatal({ message: Fatal.describe(error, overrides) }))
    )
  )

/** The `reactor` command tree, for a given set of overrides and an optional preloaded model. */
export const command = (overrides: ReadonlyArray<Overrides.Override> = [], preloaded?: Preloaded) =>
  Command.make("reactor").pipe(
    Command.withDescription("Serve a real-time generative model: frames out, commands in."),
    Command.withSubcommands([
      Command.make("run", options, (args) => execute(args, overrides, preloaded)).pipe(
        Command.withDescription(
          `Run a model module over HTTP (default) or headless. ${modelHelp} ` +
            "Usage: reactor run <module> [-c config.yaml] [--runtime http|headless] [--model.key=value ...]"
        )
      ),
      ClusterOptions.coordinator
    ])
  )

const footer = HelpDoc.blocks([
  HelpDoc.p(`MODEL MODULES: ${modelHelp}`),
  HelpDoc.p(
    "CONFIG: `-c config.yaml` holds the model's config keys at the top level and an optional `server:` " +
      "section; `--model.key=value` (or `--model.key value`) overrides one key, typed by the model's schema."
  ),
  HelpDoc.p(
    "HEADLESS INPUT: one command per line, `name key=value ...` (quotes allowed) or JSON " +
      "`{\"type\":\"name\",\"data\":{...}}`; `help` lists the commands; Ctrl-D or Ctrl-C stops."
  )
])

const ansi = /\x1b\[[0-9;]*m/g

/**
 * Strips ANSI styles from what a console prints (the help text is styled) where it does not go to a colour
 * terminal: piped into a file or a pager, or with NO_COLOR set.
 */
const plainUnlessTerminal = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.consoleWith((base) => {
    const colours = (stream: NodeJS.WriteStream) => stream.isTTY === true && process.env.NO_COLOR === undefined
    if (colours(process.stdout) && colours(process.stderr)) return effect
    const plain = (stream: NodeJS.WriteStream, args: ReadonlyArray<unknown>) =>
      colours(stream) ? args : args.map((arg) => (typeof arg === "string" ? arg.replace(ansi, "") : arg))
    const console: Console.Console = {
      ...base,
      log: (...args) => base.log(...plain(process.stdout, args)),
      error: (...args) => base.error(...plain(process.stderr, args)),
      unsafe: {
        ...base.unsafe,
        log: (...args) => base.unsafe.log(...plain(process.stdout, args)),
        error: (...args) => base.unsafe.error(...plain(process.stderr, args))
      }
    }
    return Effect.withConsole(effect, console)
  })

/**
 * The logger `--log-format` asks for, read before the arguments are parsed (the first lines are logged before):
 * pretty lines, or JSON objects (with `trace_id`/`span_id` inside a span) for log shippers; stderr either way.
 */
const logFormat = (argv: ReadonlyArray<string>): Tracing.LogFormat => {
  const at = argv.findIndex((arg) => arg === "--log-format" || arg.startsWith("--log-format="))
  const format = at < 0 ? "pretty" : argv[at]!.includes("=") ? argv[at]!.split("=")[1] : argv[at + 1]
  return format === "json" ? "json" : "pretty"
}

/**
 * Runs the CLI on arguments without the node/script prefix (`["run", "model.ts", "--runtime", "headless"]`).
 * Failures are printed here, as one line on stderr; the effect then fails (exit code 1).
 */
export const main = (argv: ReadonlyArray<string>, preloaded?: Preloaded) => {
  const { overrides, rest } = Overrides.extract(argv)
  const cli = Command.run(command(overrides, preloaded), {
    name: "reactor",
    version: "0.1.0",
    executable: "reactor",
    footer
  })
  return cli(["node", "reactor", ...rest]).pipe(
    plainUnlessTerminal,
    Effect.catchAllCause((cause): Effect.Effect<never, Fatal.Reported> => {
      if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
      const failure = Cause.failureOption(cause)
      if (failure._tag === "Some" && !(failure.value instanceof Fatal.Fatal)) {
        // A usage error: @effect/cli has printed it with the help text.
        return Effect.fail(new Fatal.Reported())
      }
      const message = failure._tag === "Some" && failure.value instanceof Fatal.Fatal
        ? failure.value.message
        : `internal error: ${Cause.pretty(cause)}`
      return Effect.zipRight(Console.error(`reactor: ${message}`), Effect.fail(new Fatal.Reported()))
    }),
    Effect.provide(Layer.mergeAll(
      NodeContext.layer,
      CliConfig.layer({ showBuiltIns: false }),
      Logger.replace(Logger.defaultLogger, Tracing.loggerFor(logFormat(argv), process.stderr.isTTY === true))
    )),
    // The model hosts (worker threads) log in the same format.
    Effect.locally(Tracing.logFormat, logFormat(argv))
  )
}

/** Runs the CLI as this process's program: signals interrupt it cooperatively, failures exit non-zero. */
export const runMain = (argv: ReadonlyArray<string>, preloaded?: Preloaded): void =>
  NodeRuntime.runMain(main(argv, preloaded), { disableErrorReporting: true, disablePrettyLogger: true })
