/**
 * The command line of the cluster: the options `reactor run --join <postgres-url>` adds (a runner), and the
 * `reactor coordinator` command. Settings not given come from the environment (`REACTOR_CLUSTER_SECRET`,
 * `REACTOR_JWT_SECRET`, `REACTOR_CLUSTER_DATABASE`, `REACTOR_RUNNER_TOKEN`).
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as ClusterSettings from "../cluster/ClusterSettings.js"
import * as Fatal from "./Fatal.js"

/**
 * The packages the cluster needs beyond the single-machine runtime: optional peer dependencies of effect-reactor
 * (package.json), so a user who never runs a cluster installs no PostgreSQL driver.
 */
export const clusterPackages = ["@effect/cluster@^0.60.2", "@effect/sql@^0.52.1", "@effect/sql-pg@^0.53.0"] as const

const clusterPackage = /Cannot find (?:package|module) '(@effect\/(?:cluster|sql|sql-pg|workflow|experimental)|pg)'/

/**
 * Loads a module of the cluster (src/cluster/, only when a cluster command runs); when one of the cluster's packages
 * is not installed, a fatal error that names it and the command that installs them.
 */
export const load = <A>(module: () => Promise<A>): Effect.Effect<A, Fatal.Fatal> =>
  Effect.tryPromise({
    try: module,
    catch: (error) => {
      const missing = clusterPackage.exec(String((error as { message?: unknown } | undefined)?.message))
      return new Fatal.Fatal({
        message: missing !== null
          ? `the cluster needs ${
            missing[1]
          }, which is not installed (effect-reactor's cluster packages are optional): ` +
            `npm install ${clusterPackages.join(" ")}`
          : `the cluster's modules could not be loaded: ${String(error)}`
      })
    }
  })

/** A database URL as it may be printed: the password, if any, replaced by `***`. */
const redacted = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "(unparsable URL)"
  }
}

/**
 * A failure to reach PostgreSQL (`@effect/sql`'s `SqlError`, whose own message is only "PgClient: Failed to connect")
 * as a fatal error that names the database and the driver's reason; any other error as it is.
 */
export const databaseFailure = (database: string) => <E>(error: E): E | Fatal.Fatal => {
  const tagged = error as { readonly _tag?: unknown; readonly message?: unknown; readonly cause?: unknown }
  if (typeof error === "object" && error !== null && tagged._tag === "SqlError") {
    const cause = tagged.cause as { readonly message?: unknown; readonly code?: unknown } | undefined
    const reason = typeof cause?.message === "string" && cause.message !== ""
      ? cause.message
      : String(cause?.code ?? "")
    return new Fatal.Fatal({
      message: `the cluster's database at ${redacted(database)} failed: ${Fatal.describe(error)}${
        reason === "" ? "" : ` (${reason})`
      }`
    })
  }
  return error
}

/** The options a runner adds to `reactor run`. */
export const runnerOptions = {
  join: Options.text("join").pipe(
    Options.withDescription(
      "http: join a cluster as a runner: the cluster's PostgreSQL URL (postgres://user@host:port/db). " +
        "Sessions then come only from the coordinator (`reactor coordinator`)."
    ),
    Options.optional
  ),
  clusterSecret: Options.text("cluster-secret").pipe(
    Options.withDescription(
      "cluster: the secret shared by the coordinator and runners (default: env REACTOR_CLUSTER_SECRET)."
    ),
    Options.optional
  ),
  clusterHost: Options.text("cluster-host").pipe(
    Options.withDescription(
      "runner: the address the coordinator reaches this runner's cluster socket at (default: --host)."
    ),
    Options.optional
  ),
  clusterPort: Options.integer("cluster-port").pipe(
    Options.withDescription("runner: the port of this runner's cluster socket (default 34431)."),
    Options.withDefault(34431)
  ),
  publicUrl: Options.text("public-url").pipe(
    Options.withDescription(
      "runner: the URL browsers and the coordinator reach this runner's HTTP at (default http://<cluster-host>:<port> " +
        "when listening on 0.0.0.0, else the listen address)."
    ),
    Options.optional
  ),
  drainMs: Options.integer("drain-ms").pipe(
    Options.withDescription(
      "runner: on SIGTERM, how long running sessions may go on (no new ones come) before they are stopped (default 30000)."
    ),
    Options.optional
  ),
  heartbeatMs: Options.integer("heartbeat-ms").pipe(
    Options.withDescription(
      `cluster: how often a runner renews its heartbeat (default ${ClusterSettings.defaults.heartbeatMs}).`
    ),
    Options.optional
  ),
  runnerLostMs: Options.integer("runner-lost-ms").pipe(
    Options.withDescription(
      `cluster: a runner silent this long is lost and its sessions end runner_lost (default ${ClusterSettings.defaults.runnerLostMs}).`
    ),
    Options.optional
  )
}

/** The cluster settings from the options, or a fatal error that says what is wrong. */
export const settings = (args: {
  readonly database: string | undefined
  readonly clusterSecret: Option.Option<string>
  readonly heartbeatMs: Option.Option<number>
  readonly runnerLostMs: Option.Option<number>
}) => {
  const made = ClusterSettings.make({
    database: args.database,
    secret: Option.getOrUndefined(args.clusterSecret),
    heartbeatMs: Option.getOrUndefined(args.heartbeatMs),
    runnerLostMs: Option.getOrUndefined(args.runnerLostMs)
  })
  return made instanceof ClusterSettings.SettingsError
    ? Effect.fail(new Fatal.Fatal({ message: made.message }))
    : Effect.succeed(made)
}

const coordinatorOptions = {
  host: Options.text("host").pipe(
    Options.withDescription("The interface to listen on."),
    Options.withDefault("127.0.0.1")
  ),
  port: Options.integer("port").pipe(Options.withDescription("The port to listen on."), Options.withDefault(8080)),
  database: Options.text("database").pipe(
    Options.withDescription("The cluster's PostgreSQL URL (default: env REACTOR_CLUSTER_DATABASE)."),
    Options.optional
  ),
  jwtSecret: Options.text("jwt-secret").pipe(
    Options.withDescription("The HS256 secret of the clients' bearer tokens (default: env REACTOR_JWT_SECRET)."),
    Options.optional
  ),
  runnerToken: Options.text("runner-token").pipe(
    Options.withDescription(
      "The runners' --token, when their HTTP API is protected: sent on the relays, and the key of the session " +
        "tickets in WebSocket URLs (default: env REACTOR_RUNNER_TOKEN; none = open runners)."
    ),
    Options.optional
  ),
  clusterSecret: runnerOptions.clusterSecret,
  heartbeatMs: runnerOptions.heartbeatMs,
  runnerLostMs: runnerOptions.runnerLostMs
}

/** `reactor coordinator`. */
export const coordinator = Command.make("coordinator", coordinatorOptions, (args) =>
  Effect.gen(function*() {
    const cluster = yield* settings({ ...args, database: Option.getOrUndefined(args.database) })
    const jwtSecret = Option.getOrUndefined(args.jwtSecret) ?? process.env.REACTOR_JWT_SECRET
    if (jwtSecret === undefined || jwtSecret.length < 16) {
      return yield* new Fatal.Fatal({
        message: "the coordinator needs a JWT secret of 16 characters or more (--jwt-secret or env REACTOR_JWT_SECRET)"
      })
    }
    const Coordinator = yield* load((): Promise<typeof import("../cluster/Coordinator.js")> =>
      import("../cluster/Coordinator.js")
    )
    const runnerToken = Option.getOrUndefined(args.runnerToken) ?? process.env.REACTOR_RUNNER_TOKEN
    return yield* Coordinator.run(cluster, {
      host: args.host,
      port: args.port,
      jwtSecret,
      runnerToken: runnerToken === "" ? undefined : runnerToken
    }).pipe(
      Effect.mapError(databaseFailure(cluster.database)),
      // anything else in one line too (a failure that is not a Fatal would be taken for a usage error and not printed)
      Effect.mapError((error) =>
        error instanceof Fatal.Fatal ? error : new Fatal.Fatal({ message: Fatal.describe(error) })
      )
    )
  })).pipe(
    Command.withDescription(
      "Serve Reactor's coordinator API (POST /sessions, ...) and place sessions on the runners of a cluster " +
        "(`reactor run model.ts --join <postgres-url>`)."
    )
  )
