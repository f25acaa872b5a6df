/**
 * `reactor run ... --log-format json`: every log line on stderr is one JSON object (for log shippers), lines about a
 * session carry its id, and lines logged inside a span carry the trace and span ids; stdout (the headless runtime's
 * own output) stays plain.
 */
import { spawn } from "node:child_process"
import { resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"

const root = resolve(import.meta.dirname, "../..")

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, ["bin/reactor.mjs", ...args], {
      cwd: root,
      env: { ...process.env, REACTOR_TOKEN: "" },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      fail(new Error(`timed out; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, subprocessMs)
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.stdin.end()
    child.on("exit", (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
  })

describe("reactor run --log-format json", () => {
  it("logs one JSON object a line, with the session id and, inside a span, the trace id", async () => {
    const result = await run([
      "run",
      "test/fixtures/cli-released.ts",
      "--runtime",
      "headless",
      "--frames",
      "5",
      "--stats-every",
      "0",
      "--log-format",
      "json"
    ])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
    expect(lines.length).toBeGreaterThan(0)
    const logs = lines.map((line) => JSON.parse(line) as Record<string, any>)
    for (const log of logs) {
      expect(typeof log.message === "string" || Array.isArray(log.message)).toBe(true)
      expect(typeof log.logLevel).toBe("string")
    }
    const ended = logs.find((log) => String(log.message).includes("ended"))
    expect(ended?.annotations?.session, JSON.stringify(logs)).toMatch(/^[\w-]{10,}$/)
    const traced = logs.filter((log) => log.annotations?.trace_id !== undefined)
    expect(traced.length, JSON.stringify(logs)).toBeGreaterThan(0)
    for (const log of traced) {
      expect(log.annotations.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(log.annotations.span_id).toMatch(/^[0-9a-f]{16}$/)
    }
    expect(result.stdout).toContain("session ended")
    expect(result.stdout).not.toContain("\"logLevel\"")
  }, subprocessTestMs)

  it("refuses a format it does not know", async () => {
    const result = await run(["run", "test/fixtures/cli-released.ts", "--runtime", "headless", "--log-format", "xml"])
    expect(result.code).not.toBe(0)
    expect(result.stdout + result.stderr).toContain("pretty, json")
  }, subprocessTestMs)
})
