/**
 * Servers of the host fixture (`test/fixtures/host-model.ts`) for the host suites: the model in a worker (by module
 * path) or in-process, on a free loopback port, each closed after its test.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import { afterEach } from "vitest"
import type * as ServerConfig from "../../src/config/ServerConfig.js"
import * as Server from "../../src/server/Server.js"
import hostModel from "../fixtures/host-model.js"

const fixture = resolve("test/fixtures/host-model.ts")
const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

/** Registers the cleanup in the calling suite and returns its `serve`. */
export const hostServers = () => {
  let servers: Array<Server.Handle> = []
  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()))
    servers = []
  })
  return async (mode: "worker" | "in-process", options: ServerConfig.Input = {}, workers = 1) => {
    const config = { host: "127.0.0.1", port: 0, stopDeadlineMs: 1000, ...options }
    const server = mode === "worker"
      ? await Server.listen({ _tag: "Worker", module: fixture, workers }, config, undefined, logLevel)
      : await Server.listen(hostModel, config, undefined, logLevel)
    servers.push(server)
    return server
  }
}
