/**
 * `@effect/cluster` over PostgreSQL, configured for live sessions that must never move. Each runner joins with a shard
 * group of its own (`groupOf(runnerId)`) besides the default one, so the runner's entity (`RunnerEntity`, id = the
 * runner's id) lives on that runner and nowhere else: the engine's hash ring of a group only has the runners that
 * declare it. A new runner therefore takes nothing from the others, and a dead one's group simply has no owner until
 * it comes back. Membership is the engine's: `RunnerStorage.getRunners` lists the runners whose heartbeat is fresher
 * than `runnerLostMs`. Shard locks are rows, not advisory locks (the engine numbers advisory locks by a group's index
 * in each process's own list, which differs between runners here).
 */
import {
  MessageStorage,
  RunnerAddress,
  RunnerStorage,
  ShardingConfig,
  SqlMessageStorage,
  SqlRunnerStorage
} from "@effect/cluster"
import { NodeClusterSocket } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Duration, Layer, Option, Redacted } from "effect"
import type { ClusterSettings } from "./ClusterSettings.js"

/** The shard group of a runner: only that runner declares it. */
export const groupOf = (runnerId: string) => `reactor-runner.${runnerId}`
/** The runner id in a shard group of `groupOf`, or `undefined` for another group. */
export const runnerOfGroup = (group: string): string | undefined =>
  group.startsWith("reactor-runner.") ? group.slice("reactor-runner.".length) : undefined

/** A runner's id from where its cluster socket listens. */
export const runnerIdOf = (host: string, port: number) => `${host}_${port}`

/** Where a runner's cluster socket listens (`undefined`: a client only, the coordinator). */
export interface Address {
  readonly host: string
  readonly port: number
}

const shardingConfig = (settings: ClusterSettings, address: Address | undefined) => {
  const groups = address === undefined ? ["default"] : ["default", groupOf(runnerIdOf(address.host, address.port))]
  return {
    runnerAddress: address === undefined
      ? Option.none<RunnerAddress.RunnerAddress>()
      : Option.some(RunnerAddress.make(address.host, address.port)),
    availableShardGroups: groups,
    assignedShardGroups: groups,
    // one shard per group: a runner's group is one shard, and one lock to renew
    shardsPerGroup: 1,
    shardLockDisableAdvisory: true,
    shardLockRefreshInterval: Duration.millis(settings.heartbeatMs),
    shardLockExpiration: Duration.millis(settings.runnerLostMs),
    refreshAssignmentsInterval: Duration.millis(settings.heartbeatMs),
    sendRetryInterval: Duration.millis(50),
    entityReplyPollInterval: Duration.millis(50)
  } satisfies Partial<ShardingConfig.ShardingConfig["Type"]>
}

/** The database. */
export const database = (settings: ClusterSettings) =>
  PgClient.layer({ url: Redacted.make(settings.database), maxConnections: 8 })

const storage = (settings: ClusterSettings, address: Address | undefined) =>
  Layer.mergeAll(Layer.orDie(SqlMessageStorage.layer), Layer.orDie(SqlRunnerStorage.layer)).pipe(
    Layer.provide(ShardingConfig.layer(shardingConfig(settings, address)))
  )

/**
 * The engine: a runner (cluster socket listening at `address`, its entities served there) or, without an address, a
 * client that only sends (the coordinator). `RunnerStorage` stays in the output for membership. Needs the database.
 */
export const layer = (settings: ClusterSettings, address?: Address) => {
  const config = shardingConfig(settings, address)
  const engine = address === undefined
    ? NodeClusterSocket.layer({ storage: "byo", clientOnly: true, shardingConfig: config })
    : NodeClusterSocket.layer({ storage: "byo", shardingConfig: config })
  return engine.pipe(Layer.provideMerge(storage(settings, address)))
}

export type { MessageStorage, RunnerStorage }
