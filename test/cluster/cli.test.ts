/**
 * The cluster's command line refuses unusable settings with one line that says what to fix (no PostgreSQL needed:
 * the settings are checked before anything connects).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

const reactor = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/reactor.mjs", ...args], {
      cwd: root,
      env: { ...process.env, REACTOR_CLUSTER_SECRET: "", REACTOR_JWT_SECRET: "", REACTOR_CLUSTER_DATABASE: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    const timer = setTimeout(
      () => (child.kill("SIGKILL"), reject(new Error(`no exit; stderr:\n${stderr}`))),
      subprocessMs
    )
    child.on("exit", (code) => (clearTimeout(timer), resolve({ code, stderr })))
  })

describe("cluster command line", { timeout: subprocessTestMs }, () => {
  it("reactor coordinator without a database, a secret or a JWT secret says which", async () => {
    const noDatabase = await reactor(["coordinator", "--port", "0"])
    expect(noDatabase.code).toBe(1)
    expect(noDatabase.stderr).toContain("the cluster needs a PostgreSQL URL")
    const noSecret = await reactor(["coordinator", "--database", "postgres://x@127.0.0.1:1/x"])
    expect(noSecret.stderr).toContain("the cluster needs a shared secret")
    const noJwt = await reactor([
      "coordinator",
      "--database",
      "postgres://x@127.0.0.1:1/x",
      "--cluster-secret",
      "0123456789"
    ])
    expect(noJwt.code).toBe(1)
    expect(noJwt.stderr).toContain("the coordinator needs a JWT secret")
  })

  it("a database it cannot reach is named in one line, its password hidden, by the coordinator and a runner", async () => {
    const secrets = ["--cluster-secret", "0123456789"]
    const coordinator = await reactor([
      "coordinator",
      "--port",
      "0",
      "--database",
      "postgres://x:hunter2@127.0.0.1:1/x",
      ...secrets,
      "--jwt-secret",
      "0123456789abcdef0123"
    ])
    expect(coordinator.code).toBe(1)
    expect(coordinator.stderr).toContain(
      "reactor: the cluster's database at postgres://x:***@127.0.0.1:1/x failed: PgClient: Failed to connect (connect ECONNREFUSED 127.0.0.1:1)"
    )
    expect(coordinator.stderr).not.toContain("hunter2")
    const runner = await reactor([
      "run",
      "test/fixtures/web-colors.ts",
      "--port",
      "0",
      "--join",
      "postgres://x@127.0.0.1:1/x",
      ...secrets
    ])
    expect(runner.code).toBe(1)
    expect(runner.stderr).toContain("the cluster's database at postgres://x@127.0.0.1:1/x failed")
  })

  it("reactor run --join with a bad URL or timings says what is wrong", async () => {
    const badUrl = await reactor([
      "run",
      "test/fixtures/web-colors.ts",
      "--join",
      "mysql://x",
      "--cluster-secret",
      "0123456789"
    ])
    expect(badUrl.code).toBe(1)
    expect(badUrl.stderr).toContain("the cluster needs a PostgreSQL URL")
    const badTimings = await reactor([
      "run",
      "test/fixtures/web-colors.ts",
      "--join",
      "postgres://x@127.0.0.1:1/x",
      "--cluster-secret",
      "0123456789",
      "--heartbeat-ms",
      "1000",
      "--runner-lost-ms",
      "1500"
    ])
    expect(badTimings.code).toBe(1)
    expect(badTimings.stderr).toContain("runner-lost at least twice the heartbeat")
  })
})
