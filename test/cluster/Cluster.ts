/**
 * A cluster on loopback for the tests: a throwaway PostgreSQL (Postgres.ts), a coordinator and runners, each a
 * `reactor` subprocess (`reactor coordinator`, `reactor run <model> --join <url>`), with short heartbeat timings so a
 * killed runner is noticed soon. `token` is a valid JWT for the coordinator; `kill` sends a runner a signal.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Jwt from "../../src/cluster/Jwt.js"
import { subprocessMs } from "../fixtures/bounds.js"
import * as Postgres from "./Postgres.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

export const clusterSecret = "test-cluster-secret"
export const jwtSecret = "test-jwt-secret-0123456789"
export const heartbeatMs = 1_000
/** The engine times each lock refresh out after one heartbeat: under load a shorter heartbeat makes runners drop their shards. */
export const runnerLostMs = 5_000
/** Long: a drain test ends its sessions itself (the drain then ends at once), never waits this out. */
export const drainMs = 120_000

/** A process of the cluster, with its output so far (shown when a test fails). */
export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

export const startProc = (name: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc => {
  const child = spawn(process.execPath, ["bin/reactor.mjs", ...args], {
    cwd: root,
    env: { ...process.env, REACTOR_TOKEN: "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { name, child, output: () => output, exited }
}

/** Waits until `url` answers 200 (the process is up), or fails with the process's output. */
export const waitUp = async (proc: Proc, url: string, timeoutMs = subprocessMs) => {
  const until = Date.now() + timeoutMs
  let exited = false
  void proc.exited.then(() => (exited = true))
  while (Date.now() < until && !exited) {
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${proc.name} did not come up at ${url}; its output:\n${proc.output()}`)
}

/** A runner process. */
export interface Runner extends Proc {
  readonly url: string
  /** Its id in the cluster (`<host>_<clusterPort>`). */
  readonly id: string
}

/** A coordinator process. */
export interface Coordinator extends Proc {
  readonly url: string
  readonly port: number
}

/** The running cluster. */
export interface Cluster {
  readonly postgres: Postgres.Postgres
  /** The first coordinator (`api` talks to its port). */
  readonly coordinator: Coordinator
  readonly runners: Array<Runner>
  /** A valid bearer token for the coordinator. */
  readonly token: string
  /**
   * Starts a coordinator (another one, or one again after a kill) at `port` (default a free one), with the start's
   * `coordinatorArgs` unless `args` are given; waits until it is up.
   */
  readonly startCoordinator: (port?: number, args?: ReadonlyArray<string>) => Promise<Coordinator>
  /** Starts one more runner of `model` and waits until the coordinator lists it. */
  readonly addRunner: (model: string, maxSessions: number, args?: ReadonlyArray<string>) => Promise<Runner>
  /** Fetches from the coordinator with the token. */
  readonly api: (path: string, init?: RequestInit) => Promise<Response>
  /** Stops everything (SIGKILL: the tests' own cleanup) and deletes the database. */
  readonly stop: () => Promise<void>
}

/** Starts PostgreSQL, a coordinator and the given runners (model module, max sessions each). */
export const start = async (
  runners: ReadonlyArray<
    { readonly model: string; readonly maxSessions: number; readonly args?: ReadonlyArray<string> }
  >,
  options: {
    readonly webRoot?: string
    /** More arguments of the coordinator (e.g. `--runner-token`). */
    readonly coordinatorArgs?: ReadonlyArray<string>
  } = {}
): Promise<Cluster> => {
  const postgres = await Postgres.start()
  const procs: Array<Proc> = []
  try {
    const common = [
      "--cluster-secret",
      clusterSecret,
      "--heartbeat-ms",
      String(heartbeatMs),
      "--runner-lost-ms",
      String(runnerLostMs)
    ]
    const startCoordinator = async (
      port?: number,
      args: ReadonlyArray<string> = options.coordinatorArgs ?? []
    ): Promise<Coordinator> => {
      const at = port ?? await Postgres.freePort()
      const coordinator: Coordinator = {
        ...startProc("coordinator", [
          "coordinator",
          "--port",
          String(at),
          "--database",
          postgres.url,
          "--jwt-secret",
          jwtSecret,
          ...common,
          ...args
        ]),
        url: `http://127.0.0.1:${at}`,
        port: at
      }
      procs.push(coordinator)
      await waitUp(coordinator, `${coordinator.url}/health`)
      return coordinator
    }
    const coordinator = await startCoordinator()
    const token = Jwt.sign({ sub: "test", exp: Math.floor(Date.now() / 1000) + 3600 }, jwtSecret)
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${coordinator.url}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...init.headers }
      })

    const list: Array<Runner> = []
    const launch = async (model: string, maxSessions: number, args: ReadonlyArray<string> = []): Promise<Runner> => {
      const port = await Postgres.freePort()
      const clusterPort = await Postgres.freePort()
      const runner: Runner = {
        ...startProc(`runner ${list.length + 1}`, [
          "run",
          model,
          "--port",
          String(port),
          "--max-sessions",
          String(maxSessions),
          "--join",
          postgres.url,
          "--cluster-port",
          String(clusterPort),
          "--drain-ms",
          String(drainMs),
          ...args,
          ...common
        ], options.webRoot !== undefined ? { REACTOR_WEB_ROOT: options.webRoot } : {}),
        url: `http://127.0.0.1:${port}`,
        id: `127.0.0.1_${clusterPort}`
      }
      list.push(runner)
      procs.push(runner)
      // a runner started with --token answers /health with it only
      const token = args.indexOf("--token")
      await waitUp(
        runner,
        `${runner.url}/health${token >= 0 ? `?${new URLSearchParams({ token: args[token + 1]! })}` : ""}`
      )
      return runner
    }
    const listed = async (ids: ReadonlyArray<string>) => {
      const until = Date.now() + subprocessMs
      while (Date.now() < until) {
        const health = await (await fetch(`${coordinator.url}/health`)).json() as { runners: Array<{ id: string }> }
        if (ids.every((id) => health.runners.some((r) => r.id === id))) return
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      throw new Error(`the coordinator did not list runners ${ids.join(", ")}:\n${coordinator.output()}`)
    }
    // one at a time: the first creates the engine's tables
    for (const { args, maxSessions, model } of runners) await launch(model, maxSessions, args)
    await listed(list.map((r) => r.id))
    return {
      postgres,
      coordinator,
      runners: list,
      token,
      api,
      startCoordinator,
      addRunner: async (model, maxSessions, args) => {
        const runner = await launch(model, maxSessions, args)
        await listed([runner.id])
        return runner
      },
      stop: async () => {
        for (const proc of procs) proc.child.kill("SIGKILL")
        await Promise.all(procs.map((proc) => proc.exited))
        postgres.stop()
      }
    }
  } catch (error) {
    for (const proc of procs) proc.child.kill("SIGKILL")
    await Promise.all(procs.map((proc) => proc.exited))
    postgres.stop()
    throw error
  }
}
