/**
 * A throwaway PostgreSQL for the cluster tests: Debian's `postgresql` (`initdb`, `pg_ctl`), a data directory in a
 * temporary folder, listening on loopback only at a free port, started as the `postgres` user when the tests run as
 * root (PostgreSQL refuses root), stopped and deleted by `stop`. Missing binaries skip the suites locally and fail them
 * in CI (`run`, `ensure`), as the browser suites do with Chromium.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const binDir = (): string | undefined => {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  return versions.map((v) => join(root, v, "bin")).find((dir) => existsSync(join(dir, "pg_ctl")))
}

export const bin = binDir()
export const available = bin !== undefined
/** Whether the cluster suites run: PostgreSQL is installed, or CI demands it (then `ensure` fails and says why). */
export const run = available || process.env.CI === "true"
export const missing = "PostgreSQL not found under /usr/lib/postgresql (apt-get install -y postgresql)"

/** Fails a suite's setup when CI runs it without PostgreSQL. */
export const ensure = () => {
  if (!available) throw new Error(`CI=true needs PostgreSQL for the cluster tests: ${missing}`)
}

/** A free TCP port on loopback (asked of the OS, then released). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

/** A running database. */
export interface Postgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  readonly stop: () => void
}

const asRoot = process.getuid?.() === 0

const exec = (tool: string, args: ReadonlyArray<string>) =>
  asRoot
    ? execFileSync("runuser", ["-u", "postgres", "--", join(bin!, tool), ...args], { stdio: "pipe" })
    : execFileSync(join(bin!, tool), args, { stdio: "pipe" })

/** Creates and starts a database (a few seconds: `initdb` is the slow part). */
export const start = async (): Promise<Postgres> => {
  ensure()
  const root = mkdtempSync(join(tmpdir(), "reactor-pg-"))
  chmodSync(root, 0o777)
  const data = join(root, "data")
  if (asRoot) execFileSync("chown", ["postgres", root])
  exec("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
  const port = await freePort()
  exec("pg_ctl", [
    "-D",
    data,
    "-l",
    join(root, "log"),
    "-w",
    "-o",
    `-p ${port} -k ${root} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    "start"
  ])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => {
      try {
        exec("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }
  }
}
