/**
 * `reactor run model.py` as a subprocess: a Python model runs headless with config overrides typed by its config
 * file's values, takes commands from stdin with the runtime's own answers, and writes its frames; a missing
 * interpreter is one clear line and a non-zero exit.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import sharp from "sharp"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "../..")

const run = (args: ReadonlyArray<string>, input = "") =>
  spawnSync(process.execPath, ["bin/reactor.mjs", "run", "test/fixtures/python/seed.py", ...args], {
    cwd: root,
    input,
    encoding: "utf8",
    env: { ...process.env, REACTOR_TOKEN: "" },
    timeout: 120_000
  })

describe("reactor run model.py", () => {
  it("runs headless: overrides, commands from stdin with the runtime's answers, frames written", async () => {
    const out = mkdtempSync(join(tmpdir(), "reactor-py-cli-"))
    const result = run(
      [
        "--runtime",
        "headless",
        "--frames",
        "40",
        "--stats-every",
        "0",
        "--model.width=32",
        "--model.height=16",
        "--out",
        out,
        "--every",
        "10"
      ],
      "set_color r=250\nset_color r=999\nmove direction=up\n"
    )
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("Commands of python-seed:")
    expect(result.stdout).toContain("r  integer 0..255, required: Red")
    expect(result.stdout).toMatch(/ok set_color/)
    expect(result.stdout).toContain(
      "error invalid_payload: invalid payload for \"set_color\": r: Expected a number between 0 and 255, actual 999"
    )
    expect(result.stdout).toContain("error invalid_payload: invalid payload for \"move\": direction:")
    expect(result.stdout).toContain("session ended: stopped (--frames 40 reached)")
    const frames = readdirSync(out).sort()
    expect(frames.length).toBeGreaterThan(0)
    const meta = await sharp(join(out, frames[0]!)).metadata()
    expect([meta.width, meta.height]).toEqual([32, 16])
  }, 180_000)

  it("says so in one line when the interpreter cannot run", () => {
    const result = run(["--runtime", "headless", "--frames", "4", "--python", "/nonexistent/python"])
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain(
      "reactor: the Python model process did not start: /nonexistent/python could not run"
    )
  }, 180_000)
})
