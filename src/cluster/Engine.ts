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
  RunnerHealth,
  Runners,
  RunnerStorage,
  ShardingConfig,
  SocketRunner,
  SqlMessageStorage,
  SqlRunnerStorage
} from "@effect/cluster"
import { Socket } from "@effect/platform"
import { NodeSocket, NodeSocketServer } from "@effect/platform-node"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
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
 * The cluster sockets' client side, as `NodeClusterSocket` makes it but with Nagle off: small control messages are
 * sent at once instead of waiting for the previous one's acknowledgement (40 ms and more on loopback).
 */
const clientProtocol = Layer.effect(
  Runners.RpcClientProtocol,
  Effect.gen(function*() {
    const serialization = yield* RpcSerialization.RpcSerialization
    return Effect.fnUntraced(function*(address: RunnerAddress.RunnerAddress) {
      const socket = yield* NodeSocket.makeNet({
        openTimeout: 1000,
        timeout: 5500,
        host: address.host,
        port: address.port,
        noDelay: true
      })
      return yield* RpcClient.makeProtocolSocket().pipe(
        Effect.provideService(Socket.Socket, socket),
        Effect.provideService(RpcSerialization.RpcSerialization, serialization)
      )
    }, Effect.orDie)
  })
)

/**
 * The engine: a runner (cluster socket listening at `address`, its entities served there) or, without an address, a
 * client that only sends (the coordinator). `RunnerStorage` stays in the output for membership. Needs the database.
 * `NodeClusterSocket.layer` composed by hand, for `noDelay` on both ends of the cluster's sockets.
 */
export const layer = (settings: ClusterSettings, address?: Address) => {
  const sockets = address === undefined
    ? Layer.provide(SocketRunner.layerClientOnly, clientProtocol)
    : Layer.provide(SocketRunner.layer, [
      NodeSocketServer.layer({ host: address.host, port: address.port, noDelay: true }),
      clientProtocol,
      RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(clientProtocol))
    ])
  return sockets.pipe(
    Layer.provideMerge(storage(settings, address)),
    Layer.provide(ShardingConfig.layer(shardingConfig(settings, address))),
    Layer.provide(RpcSerialization.layerMsgPack)
  )
}

export type { MessageStorage, RunnerStorage }
