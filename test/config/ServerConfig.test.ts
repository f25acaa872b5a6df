import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import * as ServerConfig from "../../src/config/ServerConfig.js"

/** A valid value of each kind that no default has, as the environment writes it and as the config holds it. */
const samples: { readonly [K in ServerConfig.Kind]: readonly [string, unknown] } = {
  text: ["0.0.0.0", "0.0.0.0"],
  port: ["1234", 1234],
  count: ["7", 7],
  ms: ["4321", 4321],
  interval: ["77", 77],
  bytes: ["999", 999],
  rate: ["2.5", 2.5],
  quality: ["42", 42],
  origins: ["https://a.example, https://b.example", ["https://a.example", "https://b.example"]],
  flag: ["false", false]
}

const fromEnv = (env: Record<string, string>, input: ServerConfig.Input = {}) =>
  Effect.map(Layer.build(ServerConfig.layerFromEnv(input)), Context.get(ServerConfig.Config))
    .pipe(
      Effect.scoped,
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )

describe("ServerConfig", () => {
  it.effect("layerFromEnv reads every field from its REACTOR_* variable", () =>
    Effect.gen(function*() {
      const env: Record<string, string> = {}
      const expected: Record<string, unknown> = {}
      for (const key of ServerConfig.keys) {
        const kind = ServerConfig.fields[key].kind
        // a flag's sample is the other value than its default
        const [text, value] = kind === "flag" && ServerConfig.defaults[key] === false
          ? ["true", true]
          : samples[kind]
        env[ServerConfig.envName(key)] = text
        expected[key] = value
        expect(value).not.toEqual(ServerConfig.defaults[key])
      }
      expect(Object.keys(env)).toContain("REACTOR_GRACE_MS")
      expect(Object.keys(env)).toContain("REACTOR_MAX_COMMANDS_PER_SECOND")
      expect(Object.keys(env)).toHaveLength(Object.keys(ServerConfig.defaults).length)
      expect(yield* fromEnv(env)).toEqual(expected)
    }))

  it.effect("explicit settings win over the environment's, which win over the defaults", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv(
        { REACTOR_GRACE_MS: "1234", REACTOR_IDLE_TIMEOUT_MS: "99", REACTOR_PORT: "9000" },
        { port: 0, idleTimeoutMs: 5, graceMs: undefined }
      )
      expect(config).toMatchObject({ port: 0, graceMs: 1234, idleTimeoutMs: 5, host: "127.0.0.1", maxSessions: 1 })
    }))

  it.effect("without an environment, every field has its one default", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({})
      expect(config).toEqual({ ...ServerConfig.defaults, token: process.env.REACTOR_TOKEN || undefined })
      const all = yield* Effect.withConfigProvider(ServerConfig.config, ConfigProvider.fromMap(new Map()))
      expect(all).toEqual(config)
      expect(ServerConfig.make()).toEqual(config)
    }))

  it.effect("a bad value names its variable and what it expects", () =>
    Effect.gen(function*() {
      const message = (env: Record<string, string>) => Effect.map(Effect.flip(fromEnv(env)), String)
      expect(yield* message({ REACTOR_PORT: "70000" })).toContain(
        "REACTOR_PORT: \"expected an integer from 0 to 65535\""
      )
      expect(yield* message({ REACTOR_GRACE_MS: "soon" })).toContain("REACTOR_GRACE_MS")
      expect(yield* message({ REACTOR_MAX_SESSIONS: "0" })).toContain(
        "REACTOR_MAX_SESSIONS: \"expected an integer >= 1\""
      )
      expect(yield* message({ REACTOR_MAX_FPS: "-3" })).toContain("REACTOR_MAX_FPS: \"expected a number > 0\"")
    }))

  it("every field is documented by its kind and description", () => {
    for (const key of ServerConfig.keys) {
      expect(ServerConfig.fields[key].description.length).toBeGreaterThan(5)
      expect(ServerConfig.kinds[ServerConfig.fields[key].kind]).toBeDefined()
    }
    expect(ServerConfig.keys).toEqual(Object.keys(ServerConfig.defaults))
  })
})
