import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ConfigFile from "../../src/config/ConfigFile.js"
import * as ServerConfig from "../../src/config/ServerConfig.js"

const dir = mkdtempSync(join(tmpdir(), "cli-config-"))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const failure = <A>(effect: Effect.Effect<A, ConfigFile.ConfigFileError>) =>
  Effect.flip(effect).pipe(Effect.map((error) => error.message))

describe("ConfigFile.load", () => {
  it.effect("reads a YAML mapping; an empty file is an empty config", () =>
    Effect.gen(function*() {
      expect(yield* ConfigFile.load(file("ok.yaml", "fps: 60\nprompt: a rainy night\nsize: {w: 2}\n"))).toEqual({
        fps: 60,
        prompt: "a rainy night",
        size: { w: 2 }
      })
      expect(yield* ConfigFile.load(file("empty.yaml", ""))).toEqual({})
      expect(yield* ConfigFile.load(file("comment.yaml", "# nothing\n"))).toEqual({})
    }))

  it.effect("names the file for a missing file", () =>
    Effect.gen(function*() {
      const missing = join(dir, "missing.yaml")
      expect(yield* failure(ConfigFile.load(missing))).toBe(`config file ${missing}: no such file`)
    }))

  it.effect("names the file and the line for bad YAML, on one line", () =>
    Effect.gen(function*() {
      const path = file("bad.yaml", "fps: 60\nsize: [1, 2\nx: 1\n")
      const message = yield* failure(ConfigFile.load(path))
      expect(message).toMatch(new RegExp(`^config file ${path}: not valid YAML at line \\d+: `))
      expect(message).not.toContain("\n")
      expect(message).not.toMatch(/:$/)
    }))

  it.effect("refuses a top level that is not a mapping", () =>
    Effect.gen(function*() {
      for (const text of ["- 1\n- 2\n", "42\n", "just text\n"]) {
        const path = file("scalar.yaml", text)
        expect(yield* failure(ConfigFile.load(path))).toBe(
          `config file ${path}: the top level must be a mapping of keys to values`
        )
      }
    }))

  it.effect("names the file when it is a folder", () =>
    Effect.gen(function*() {
      expect(yield* failure(ConfigFile.load(dir))).toContain(`config file ${dir}: `)
    }))
})

describe("ConfigFile.sections", () => {
  it.effect("splits the model's keys from the server section, camel-casing the server's", () =>
    Effect.gen(function*() {
      const value = { fps: 60, server: { port: 9000, max_sessions: 2, token: "t", cors: ["*"], grace_ms: 0 } }
      expect(yield* ConfigFile.sections("c.yaml", value)).toEqual({
        model: { fps: 60 },
        server: { port: 9000, maxSessions: 2, token: "t", cors: ["*"], graceMs: 0 }
      })
      expect(yield* ConfigFile.sections("c.yaml", { fps: 1 })).toEqual({ model: { fps: 1 }, server: {} })
    }))

  it.effect("names the key and the expectation of a bad server setting", () =>
    Effect.gen(function*() {
      expect(yield* failure(ConfigFile.sections("c.yaml", { server: { port: "80" } }))).toBe(
        `config file c.yaml: server.port: expected an integer from 0 to 65535, got "80"`
      )
      expect(yield* failure(ConfigFile.sections("c.yaml", { server: { max_sessions: 0 } }))).toBe(
        "config file c.yaml: server.max_sessions: expected an integer >= 1, got 0"
      )
      expect(yield* failure(ConfigFile.sections("c.yaml", { server: { prot: 80 } }))).toMatch(
        /^config file c\.yaml: server\.prot: unknown setting; known: host, port, max_sessions, token, /
      )
      expect(yield* failure(ConfigFile.sections("c.yaml", { server: [1] }))).toBe(
        "config file c.yaml: server: expected a mapping of server settings"
      )
    }))
})

describe("ConfigFile's server section, derived from ServerConfig", () => {
  it.effect("takes every ServerConfig field under its snake_case key, checked as the environment checks it", () =>
    Effect.gen(function*() {
      expect(ConfigFile.fileKey("maxCommandsPerSecond")).toBe("max_commands_per_second")
      const server = {
        host: "0.0.0.0",
        max_sessions: 3,
        max_buffered_text_bytes: 1024,
        max_messages_per_second: 50,
        stats_interval_ms: 250,
        late_ms: 20,
        web_root: "/srv/page"
      }
      expect((yield* ConfigFile.sections("c.yaml", { server })).server).toEqual({
        host: "0.0.0.0",
        maxSessions: 3,
        maxBufferedTextBytes: 1024,
        maxMessagesPerSecond: 50,
        statsIntervalMs: 250,
        lateMs: 20,
        webRoot: "/srv/page"
      })
      expect(yield* failure(ConfigFile.sections("c.yaml", { server: { stats_interval_ms: 0 } }))).toBe(
        "config file c.yaml: server.stats_interval_ms: expected a whole number of milliseconds >= 1, got 0"
      )
      const known = (yield* failure(ConfigFile.sections("c.yaml", { server: { nope: 1 } }))).split("known: ")[1]!
      expect(known.split(", ")).toEqual(ServerConfig.keys.map(ConfigFile.fileKey))
    }))
})
