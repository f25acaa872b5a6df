/**
 * What a runner and a coordinator share to form a cluster: the PostgreSQL database (membership, shard locks, the
 * coordinator's sessions), the secret a runner checks on every control message, and the timings of the engine's
 * heartbeat. `runnerLostMs` bounds how long a dead runner (SIGKILL, a cut cable) holds its sessions: its heartbeat
 * stops, after `runnerLostMs` the engine no longer lists it, and the coordinator ends its sessions `runner_lost`.
 */
import { Data } from "effect"

/** A cluster's settings. */
export interface ClusterSettings {
  /** PostgreSQL URL, e.g. `postgres://reactor@db:5432/reactor`. */
  readonly database: string
  /** The shared secret: runners take control messages (start, stop, status) only when they carry it. */
  readonly secret: string
  /** How often a runner renews its heartbeat in the database. Default 1000 ms. */
  readonly heartbeatMs: number
  /** A runner whose heartbeat is older than this is gone: its sessions end `runner_lost`. Default 5000 ms. */
  readonly runnerLostMs: number
}

/** The defaults of the timings. */
export const defaults = { heartbeatMs: 1_000, runnerLostMs: 5_000 } as const

/** The settings were not usable. */
export class SettingsError extends Data.TaggedError("SettingsError")<{ readonly message: string }> {}

/** Settings from partial input; fails with a message naming the field. */
export const make = (input: {
  readonly database?: string | undefined
  readonly secret?: string | undefined
  readonly heartbeatMs?: number | undefined
  readonly runnerLostMs?: number | undefined
}): ClusterSettings | SettingsError => {
  const database = input.database ?? process.env.REACTOR_CLUSTER_DATABASE
  const secret = input.secret ?? process.env.REACTOR_CLUSTER_SECRET
  if (database === undefined || !/^postgres(ql)?:\/\//.test(database)) {
    return new SettingsError({
      message: `the cluster needs a PostgreSQL URL (postgres://user@host:port/db), got ${JSON.stringify(database)}`
    })
  }
  if (secret === undefined || secret.length < 8) {
    return new SettingsError({
      message:
        "the cluster needs a shared secret of 8 characters or more (--cluster-secret or env REACTOR_CLUSTER_SECRET)"
    })
  }
  const heartbeatMs = input.heartbeatMs ?? defaults.heartbeatMs
  const runnerLostMs = input.runnerLostMs ?? defaults.runnerLostMs
  if (!(heartbeatMs >= 100) || !(runnerLostMs >= 2 * heartbeatMs)) {
    return new SettingsError({
      message:
        `heartbeat ${heartbeatMs} ms and runner-lost ${runnerLostMs} ms: the heartbeat must be 100 ms or more and runner-lost at least twice the heartbeat`
    })
  }
  return { database, secret, heartbeatMs, runnerLostMs }
}
