/**
 * Server subprocesses: a benchmark server runs in its own Node process, so its CPU and memory can be read from /proc
 * and the client's work does not share its event loop. Extra Node flags for the server (profiling) come from
 * `BENCH_SERVER_NODE_ARGS`, e.g. `--cpu-prof --cpu-prof-dir=bench/results/prof`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Listening } from "../servers/Job.js"

/** A running server subprocess. */
export interface Child {
  readonly pid: number
  readonly port: number
  readonly format: string
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
  readonly stop: () => Promise<void>
  /** Sends a line to its stdin (`gc`: a full collection). */
  readonly command: (line: string) => void
  /** The last lines it wrote to stderr, for error reports. */
  readonly stderrTail: () => string
}

const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

/**
 * The Node flags the runtime ships with, read from the shebang of `bin/reactor.mjs` (`#!/usr/bin/env -S node ...`):
 * the runtime server runs as it would in production, and the bare server gets the same flags so the comparison stays
 * fair. `BENCH_SHIPPED_NODE_ARGS=0` leaves them out (Node's defaults for both).
 */
export const shippedNodeArgs: ReadonlyArray<string> = (() => {
  if (process.env.BENCH_SHIPPED_NODE_ARGS === "0") return []
  const first = readFileSync(path.join(path.dirname(benchDir), "bin", "reactor.mjs"), "utf8").split("\n")[0] ?? ""
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first)
  return match ? match[1]!.split(" ").filter((arg) => arg !== "") : []
})()

/** Starts `bench/servers/<script>` with a job and waits until it listens (`listenTimeoutMs`, 30 s by default). */
export const start = (
  script: string,
  job: unknown,
  env: Record<string, string> = {},
  listenTimeoutMs = 30_000
): Promise<Child> =>
  new Promise((resolve, reject) => {
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--expose-gc",
        ...shippedNodeArgs,
        ...nodeArgs,
        "--import",
        "tsx",
        path.join(benchDir, "servers", script),
        JSON.stringify(job)
      ],
      { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production", ...env } }
    )
    const tail: Array<string> = []
    child.stderr!.setEncoding("utf8")
    child.stderr!.on("data", (chunk: string) => {
      tail.push(...chunk.split("\n").filter((line) => line !== ""))
      if (tail.length > 40) tail.splice(0, tail.length - 40)
      if (process.env.BENCH_VERBOSE === "1") process.stderr.write(chunk)
    })
    let out = ""
    let settled = false
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const timer = setTimeout(
      () => fail(new Error(`${script} did not listen within ${listenTimeoutMs / 1000} s`)),
      listenTimeoutMs
    )
    const fail = (error: Error) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill("SIGKILL")
      reject(new Error(`${error.message}\n${tail.join("\n")}`))
    }
    child.once("exit", (code) => fail(new Error(`${script} exited early with code ${code}`)))
    child.once("error", fail)
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (chunk: string) => {
      if (settled) return
      out += chunk
      const newline = out.indexOf("\n")
      if (newline < 0) return
      settled = true
      clearTimeout(timer)
      const listening = JSON.parse(out.slice(0, newline)) as Listening
      resolve({
        pid: child.pid!,
        port: listening.port,
        format: listening.format,
        stderrTail: () => tail.join("\n"),
        command: (line) => void child.stdin!.write(line + "\n"),
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return
          child.stdin!.end()
          child.kill("SIGTERM")
          const killer = setTimeout(() => child.kill("SIGKILL"), 5000)
          await exited
          clearTimeout(killer)
        }
      })
    })
  })
