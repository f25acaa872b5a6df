/**
 * The `reactor` command end to end, as a subprocess: `node bin/reactor.mjs run <module> --runtime headless ...` with
 * commands piped in, frames written to a temporary folder, signals, and the one-line errors of a bad start.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import sharp from "sharp"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"

const root = resolve(import.meta.dirname, "../..")
const fixture = "test/fixtures/cli-released.ts"

interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command in the project folder. `input` lines are written at once and stdin is closed, unless `onStdout`
 * takes over (it sees the output so far and the child, to write more or to signal it).
 */
const run = (
  args: ReadonlyArray<string>,
  options: {
    readonly input?: ReadonlyArray<string>
    readonly command?: string
    readonly onStdout?: (stdout: string, child: ChildProcess) => void
    readonly onStderr?: (stderr: string, child: ChildProcess) => void
    readonly timeoutMs?: number
  } = {}
) =>
  new Promise<Result>((done, fail) => {
    const child = spawn(options.command ?? process.execPath, options.command ? args : ["bin/reactor.mjs", ...args], {
      cwd: root,
      env: { ...process.env, REACTOR_TOKEN: "" },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      fail(new Error(`timed out; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, options.timeoutMs ?? subprocessMs)
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      options.onStdout?.(stdout, child)
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
      options.onStderr?.(stderr, child)
    })
    child.stdin.on("error", () => {})
    if (options.input !== undefined) child.stdin.end(options.input.map((line) => `${line}\n`).join(""))
    else if (options.onStdout === undefined && options.onStderr === undefined) child.stdin.end()
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      child.stdout.once("end", () => done({ code, signal, stdout, stderr }))
      if (child.stdout.readableEnded) done({ code, signal, stdout, stderr })
    })
  })

const tempDir = () => mkdtempSync(join(tmpdir(), "cli-e2e-"))

/** A one-line error: exactly one non-empty line on stderr, starting with `reactor: `. */
const expectOneLine = (result: Result, pattern: RegExp) => {
  expect(result.code, result.stderr).not.toBe(0)
  const lines = result.stderr.split("\n").filter((line) => line.trim() !== "")
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^reactor: /)
  expect(lines[0]).toMatch(pattern)
  expect(result.stderr).not.toMatch(/\n\s+at /)
}

describe("reactor run --runtime headless", { timeout: subprocessTestMs }, () => {
  it("prints the commands, applies good lines, explains bad ones and goes on, writes frames, exits 0", async () => {
    const out = tempDir()
    const result = await run([
      "run",
      fixture,
      "--runtime",
      "headless",
      "--frames",
      "60",
      "--out",
      out,
      "--every",
      "3",
      "--stats-every",
      "0.2"
    ], {
      input: [
        "set_level level=200 invert=true",
        "{bad json",
        "jump height=2",
        "set_level level=300",
        "set_level level=high",
        `set_level level=1 colour="red"`,
        "help",
        `{"type":"set_level","data":{"level":7}}`
      ]
    })
    expect(result.code, result.stderr).toBe(0)
    const { stdout } = result
    // The command list, with types, bounds, defaults and descriptions (printed twice: at start and for `help`).
    expect(stdout.match(/Commands of cli-released:/g)).toHaveLength(2)
    expect(stdout).toContain("level   integer 0..255, required: Grey level")
    expect(stdout).toContain("invert  boolean, default false: Invert the level")
    expect(stdout).toContain("crash: Makes the generation loop fail")
    // Each line's answer, in order; the bad ones did not stop the session.
    const answers = stdout.split("\n").filter((line) => /^(ok|error) /.test(line))
    expect(answers).toEqual([
      expect.stringMatching(/^ok set_level \(from frame \d+\)$/),
      expect.stringMatching(/^error invalid_json: invalid JSON: /),
      `error unknown_command: unknown command "jump"; known commands: set_level, crash`,
      `error invalid_payload: invalid payload for "set_level": level: Expected a number between 0 and 255, actual 300`,
      `error invalid_payload: invalid payload for "set_level": level: Expected number, actual "high"`,
      expect.stringMatching(/^error invalid_payload: invalid payload for "set_level": colour: is unexpected/),
      expect.stringMatching(/^ok set_level \(from frame \d+\)$/)
    ])
    expect(stdout).toMatch(
      /^stats: \d+ frames, \d+ fps, \d+ dropped, command-to-frame (\d+ ms|-), commands 2 applied \/ 4 rejected/m
    )
    expect(stdout).toContain("session ended: stopped (--frames 60 reached)")
    // Finalizers ran: the model's session finalizer logged on stderr.
    expect(result.stderr).toContain("released")

    // Every 3rd frame of the first 60, as PNG images of the model's frame size.
    const files = readdirSync(out).sort()
    expect(files.length).toBeGreaterThan(0)
    expect(files.every((name) => /^frame-\d{6}\.png$/.test(name))).toBe(true)
    const indices = files.map((name) => Number(name.slice(6, 12)))
    expect(indices.every((index) => index % 3 === 0 && index < 60)).toBe(true)
    expect(indices).toContain(57)
    expect(stdout).toContain(`${files.length} frames written to ${out}`)
    const { info } = await sharp(join(out, "frame-000057.png")).raw().toBuffer({ resolveWithObject: true })
    expect(info).toMatchObject({ width: 48, height: 32, channels: 3 })
    // Every frame from the last command's ack on shows its level (7): the first image written at or after it.
    const lastAck = Number(/ok set_level \(from frame (\d+)\)\s*$/m.exec(answers.at(-1)!)![1])
    const after = indices.find((index) => index >= lastAck)
    expect(after, `an image at or after frame ${lastAck}`).toBeDefined()
    const { data } = await sharp(join(out, `frame-${String(after).padStart(6, "0")}.png`)).raw().toBuffer({
      resolveWithObject: true
    })
    expect(data[0]).toBe(7)
  })

  it("stops at end of input when no limit is given, running the model's finalizers", async () => {
    const result = await run(["run", fixture, "--runtime", "headless", "--stats-every", "0"], {
      input: ["set_level level=1"]
    })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("ok set_level")
    expect(result.stdout).toContain("session ended: stopped (end of input)")
    expect(result.stderr).toContain("released")
  })

  it("stops after --seconds even though input ended, with a final stats line", async () => {
    const result = await run(["run", fixture, "--runtime", "headless", "--seconds", "0.5", "--stats-every", "0"])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^stats: \d+ frames, .*\nsession ended: stopped \(--seconds 0\.5 elapsed\)$/m)
    expect(result.stderr).toContain("released")
  })

  it("stops cooperatively on SIGINT and on SIGTERM, printing the end reason, exit 0", async () => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      let sent = false
      const result = await run(["run", fixture, "--runtime", "headless", "--stats-every", "0"], {
        onStdout: (stdout, child) => {
          if (!sent && /^session \S+ started$/m.test(stdout)) {
            sent = true
            setTimeout(() => child.kill(signal), 200)
          }
        }
      })
      expect(result.code, `${signal}: ${result.stderr}`).toBe(0)
      expect(result.stdout).toContain("session ended: stopped (signal)")
      expect(result.stderr).toContain("released")
    }
  })

  it("exits non-zero with the reason when the model fails, after its finalizers", async () => {
    const result = await run(["run", fixture, "--runtime", "headless", "--frames", "100000", "--stats-every", "0"], {
      input: ["crash"]
    })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("session ended: model failed: crashed on request")
    expect(result.stderr).toContain("released")
    expect(result.stderr).toContain("reactor: session ended: model failed: crashed on request")
    // The failure is logged with its stack, pointing into the model's file.
    expect(result.stderr).toMatch(/model loop failed\n\s+Error: crashed on request\n\s+at .*cli-released\.ts:\d+/)
  })

  it("exits 0 when the model finishes by itself; --model overrides and -c config apply", async () => {
    const dir = tempDir()
    const config = join(dir, "config.yaml")
    writeFileSync(config, "width: 16\nheight: 8\nfinishAfter: 1000\nserver:\n  port: 9999\n")
    const out = join(dir, "frames")
    const result = await run([
      "run",
      fixture,
      "-c",
      config,
      "--model.finishAfter=5",
      "--runtime",
      "headless",
      "--frames",
      "100000",
      "--out",
      out,
      "--stats-every",
      "0"
    ])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("session ended: model finished")
    const { info } = await sharp(join(out, readdirSync(out)[0]!)).raw().toBuffer({ resolveWithObject: true })
    expect(info).toMatchObject({ width: 16, height: 8 })
  })

  it("runs a model file by itself through runIfMain (npx tsx examples/01-prompt.ts ...)", async () => {
    const result = await run(
      ["--import", "tsx", "examples/01-prompt.ts", "--runtime", "headless", "--frames", "3", "--stats-every", "0"],
      { command: process.execPath }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("Commands of prompt-art:")
    expect(result.stdout).toContain("session ended: stopped (--frames 3 reached)")
  })
})

describe("reactor run --runtime http (the default)", { timeout: subprocessTestMs }, () => {
  it("serves the model with --host/--port/--max-sessions/--token until SIGTERM, exit 0", async () => {
    let checked: Promise<void> | undefined
    const result = await run([
      "run",
      fixture,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--max-sessions",
      "2",
      "--token",
      "s3cret"
    ], {
      onStderr: (stderr, child) => {
        const url = /serving model "cli-released" on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1]
        if (url === undefined || checked !== undefined) return
        checked = (async () => {
          const open = await fetch(`${url}/health`)
          expect(open.status).toBe(401)
          const health = await fetch(`${url}/health`, { headers: { authorization: "Bearer s3cret" } })
          expect(await health.json()).toMatchObject({ status: "ok", model: { name: "cli-released" }, max_sessions: 2 })
        })().finally(() => child.kill("SIGTERM"))
      }
    })
    await checked
    expect(result.code, result.stderr).toBe(0)
  })

  it("refuses a bad config in one line before serving", async () => {
    expectOneLine(
      await run(["run", fixture, "--port", "0", "--model.width=1"]),
      /^reactor: invalid config \(command line\): width \(from --model\.width\): Expected a number between 8 and 256, actual 1$/
    )
  })
})

describe("reactor: a bad start is one line on stderr and a non-zero exit", { timeout: subprocessTestMs }, () => {
  it("a missing module", async () => {
    expectOneLine(
      await run(["run", "test/fixtures/cli-missing.ts"]),
      /^reactor: model module test\/fixtures\/cli-missing\.ts: no such file$/
    )
  })

  it("a module without a model", async () => {
    expectOneLine(
      await run(["run", "test/fixtures/cli-nomodel.ts", "--runtime", "headless"]),
      /exports no model: export the layer made by Model\.make as the default export or as `model` \(it exports: notAModel\)$/
    )
  })

  it("a missing config file", async () => {
    const missing = join(tempDir(), "nope.yaml")
    expectOneLine(
      await run(["run", fixture, "-c", missing, "--runtime", "headless"]),
      /config file .*nope\.yaml: no such file$/
    )
  })

  it("a config file that is not YAML", async () => {
    const file = join(tempDir(), "bad.yaml")
    writeFileSync(file, "width: [1\nheight: 2\n")
    expectOneLine(
      await run(["run", fixture, "-c", file, "--runtime", "headless"]),
      /config file .*bad\.yaml: not valid YAML at line \d+/
    )
  })

  it("a config with a wrong key and a wrong type, naming file, key path and expectation", async () => {
    const file = join(tempDir(), "wrong.yaml")
    writeFileSync(file, "width: wide\ncolour: red\n")
    expectOneLine(
      await run(["run", fixture, "-c", file, "--runtime", "headless", "--model.fps=1000"]),
      /^reactor: invalid config \(.*wrong\.yaml\): (?=.*colour: is unexpected)(?=.*width: Expected number, actual "wide")(?=.*fps \(from --model\.fps\): Expected a number between 1 and 240, actual 1000)/
    )
  })

  it("documents the model module contract in --help", async () => {
    const result = await run(["run", "--help"])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("default export")
    expect(result.stdout).toContain("--runtime")
    expect(result.stdout).toContain("--model.key=value")
    // Piped (not a terminal): plain text, and the module argument described as what it is.
    expect(result.stdout).not.toMatch(/\x1b\[/)
    expect(result.stdout).toMatch(/<module>\n\n {2}A file\.\n\n {2}The model module to run\./)
    expect(result.stdout).not.toMatch(/<module>\n\n {2}A user-defined piece of text/)
    expect(existsSync(join(root, "bin/reactor.mjs"))).toBe(true)
  })
})
