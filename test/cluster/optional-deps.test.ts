/**
 * The cluster's packages (@effect/cluster, @effect/sql, @effect/sql-pg and its `pg` driver) are optional peer
 * dependencies: a user who never runs a cluster need not install them. Every published entry point loads with them
 * absent (hidden by resolution hooks, test/fixtures/hide-modules/, as a fresh install without them would be), and
 * the cluster's commands then stop with one line that names what to install. No PostgreSQL needed.
 */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { clusterPackages } from "../../src/cli/ClusterOptions.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const hooks = fileURLToPath(new URL("../fixtures/hide-modules/register.mjs", import.meta.url))
const hidden = ["@effect/sql-pg", "pg", "@effect/cluster", "@effect/sql"]

/** Runs node with the hidden packages unresolvable; exit code and output. */
const node = (args: ReadonlyArray<string>, hide: ReadonlyArray<string> = hidden) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", hooks, ...args], {
      cwd: root,
      env: {
        ...process.env,
        REACTOR_TEST_HIDE: hide.join(","),
        REACTOR_CLUSTER_SECRET: "",
        REACTOR_JWT_SECRET: "",
        REACTOR_CLUSTER_DATABASE: ""
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    const timer = setTimeout(
      () => (child.kill("SIGKILL"), reject(new Error(`no exit; stderr:\n${stderr}`))),
      subprocessMs
    )
    child.on("exit", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })))
  })

/** Imports each module (through tsx, as the repository runs its sources) and prints how many exports it has. */
const importAll = (modules: ReadonlyArray<string>) =>
  node([
    "--import",
    "tsx",
    "-e",
    `for (const m of ${JSON.stringify(modules)}) console.log(m, Object.keys(await import("./" + m)).length)`
  ])

describe("the cluster's packages are optional", { timeout: subprocessTestMs }, () => {
  it("package.json lists them as optional peer dependencies, with the ranges the cluster's error names", () => {
    const manifest = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as {
      peerDependencies: Record<string, string>
      peerDependenciesMeta: Record<string, { optional?: boolean }>
      devDependencies: Record<string, string>
      dependencies: Record<string, string>
    }
    for (const spec of clusterPackages) {
      const [, name, range] = /^(@?[^@]+)@(.+)$/.exec(spec)!
      expect(manifest.peerDependencies[name!], name).toBe(range)
      expect(manifest.peerDependenciesMeta[name!]?.optional, name).toBe(true)
      expect(manifest.dependencies[name!], name).toBeUndefined()
      expect(`^${manifest.devDependencies[name!]}`, name).toBe(range)
    }
  })

  it("every published entry point, and the HTTP server a plain `reactor run` starts, load without them", async () => {
    const entries = [
      "src/index.ts",
      "src/client/index.ts",
      "src/server/index.ts",
      "src/testing/index.ts",
      "src/cli/index.ts",
      "src/server/HttpRunner.ts"
    ]
    const loaded = await importAll(entries)
    expect(loaded.code, loaded.stderr).toBe(0)
    for (const entry of entries) expect(loaded.stdout).toMatch(new RegExp(`^${entry} [1-9]`, "m"))
    // the hooks do hide them: the cluster's own modules do not load
    const cluster = await importAll(["src/cluster/Coordinator.ts"])
    expect(cluster.code).not.toBe(0)
    expect(cluster.stderr).toMatch(/Cannot find package '@effect\/(cluster|sql|sql-pg)'/)
  })

  it("`reactor coordinator` and `reactor run --join` without @effect/sql-pg say, in one line, what to install", async () => {
    const install = `npm install ${clusterPackages.join(" ")}`
    const common = ["--cluster-secret", "0123456789"]
    const coordinator = await node([
      "bin/reactor.mjs",
      "coordinator",
      "--database",
      "postgres://x@127.0.0.1:1/x",
      "--jwt-secret",
      "0123456789abcdef0123",
      ...common
    ], ["@effect/sql-pg"])
    const runner = await node([
      "bin/reactor.mjs",
      "run",
      "test/fixtures/web-colors.ts",
      "--join",
      "postgres://x@127.0.0.1:1/x",
      ...common
    ], ["@effect/sql-pg"])
    for (const { code, stderr } of [coordinator, runner]) {
      expect(code).toBe(1)
      expect(stderr.trim().split("\n"), stderr).toHaveLength(1)
      expect(stderr).toContain("the cluster needs @effect/sql-pg, which is not installed")
      expect(stderr).toContain(install)
    }
  })
})
