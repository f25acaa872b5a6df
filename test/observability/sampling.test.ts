/**
 * Trace sampling from the outside: the standard `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` pick the
 * OpenTelemetry SDK's samplers; a server whose model runs in a worker thread exports nothing of a session its sampler
 * drops (ratio 0), on either side of the worker; with a ratio between, each session is traced whole or not at all
 * (the worker follows the server's choice); a wrong value stops the server at startup with a message that names it.
 * (Ratio 1 exporting every span with its links: tracing.test.ts.)
 */
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import * as Sampling from "../../src/session/Sampling.js"
import { connect } from "../e2e/helpers.js"
import { collector, withEnv } from "./Collector.js"

const workerModel = {
  _tag: "Worker",
  module: fileURLToPath(new URL("../fixtures/server-model-worker.ts", import.meta.url))
} as const

const described = (env: Record<string, string>) => {
  const chosen = Sampling.fromEnv(env)
  if (chosen._tag === "Left") throw new Error(chosen.left.message)
  return { name: chosen.right.name, ratio: chosen.right.ratio, sampler: chosen.right.sampler.toString() }
}

describe("trace sampling", () => {
  let otlp: Awaited<ReturnType<typeof collector>>
  beforeAll(async () => {
    otlp = await collector()
    process.env.REACTOR_FIXTURE = JSON.stringify({})
  })
  afterAll(() => {
    otlp.server.close()
  })

  it("reads the standard variables into the SDK's samplers", () => {
    expect(described({})).toEqual({
      name: Sampling.defaultName,
      ratio: Sampling.defaultRatio,
      sampler: `ParentBased{root=TraceIdRatioBased{${Sampling.defaultRatio}}, remoteParentSampled=AlwaysOnSampler, ` +
        "remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, " +
        "localParentNotSampled=AlwaysOffSampler}"
    })
    // the argument alone changes the default sampler's ratio
    expect(described({ OTEL_TRACES_SAMPLER_ARG: "0.01" }).ratio).toBe(0.01)
    expect(described({ OTEL_TRACES_SAMPLER: "always_on" }).sampler).toBe("AlwaysOnSampler")
    expect(described({ OTEL_TRACES_SAMPLER: "always_off" }).sampler).toBe("AlwaysOffSampler")
    expect(described({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).sampler)
      .toBe("TraceIdRatioBased{0.25}")
    // a named ratio sampler without an argument samples everything, as the specification says
    expect(described({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio" }).ratio).toBe(1)
    expect(described({ OTEL_TRACES_SAMPLER: "Parentbased_Always_On" }).sampler).toMatch(/^ParentBased\{root=AlwaysOn/)
    expect(described({ OTEL_TRACES_SAMPLER: "parentbased_always_off" }).sampler).toMatch(
      /^ParentBased\{root=AlwaysOff/
    )
  })

  it("refuses to start on a sampler or a ratio it cannot honour, naming the variable", async () => {
    const start = (vars: Record<string, string>) =>
      withEnv(
        { ...vars, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
        () =>
          Server.listen(workerModel, { host: "127.0.0.1", port: 0 }).then(
            (server) => server.close().then(() => "started"),
            (error: unknown) => String((error as { message?: unknown }).message ?? error)
          )
      )
    expect(await start({ OTEL_TRACES_SAMPLER: "sometimes", OTEL_TRACES_SAMPLER_ARG: "" })).toBe(
      `OTEL_TRACES_SAMPLER="sometimes" is not a supported sampler: use one of ${Sampling.names.join(", ")}`
    )
    expect(await start({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" })).toBe(
      `OTEL_TRACES_SAMPLER_ARG="1.5" is not a ratio: it must be a number from 0 to 1 (e.g. 0.01)`
    )
    expect(await start({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "ten" }))
      .toMatch(/^OTEL_TRACES_SAMPLER_ARG="ten" is not a ratio/)
  })

  /** Serves sessions that each apply a command (and refuse a bad one), then closes the server (spans flushed). */
  const serveSessions = async (vars: Record<string, string>, sessions: number) => {
    otlp.spans.length = 0
    const server = await withEnv(
      { ...vars, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
      () => Server.listen(workerModel, { host: "127.0.0.1", port: 0 })
    )
    try {
      for (let i = 0; i < sessions; i++) {
        const { client } = await connect(server, "?format=rgb")
        await client.waitFrames(1)
        client.command("set_color", { r: 100 + i }, `c${i}`)
        await client.next((m) => m.type === "commandAck" && m.data.id === `c${i}`)
        client.command("set_color", { r: 900 }, `bad${i}`)
        await client.error("invalid_payload")
        client.runtime("stop")
        await client.closed
      }
    } finally {
      // closing the server flushes both sides' span processors: whatever was kept has been exported after this
      await server.close()
    }
    return otlp.spans
  }

  const sessionSpanNames = ["session", "command", "command.apply", "command.decode", "command.handler"]

  it("exports no session or command span at ratio 0, on either side of the worker", async () => {
    const spans = await serveSessions(
      { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" },
      2
    )
    expect(spans.filter((span) => sessionSpanNames.includes(span.name)).map((s) => `${s.role}:${s.name}`))
      .toEqual([])
  })

  it("traces each session whole or not at all at a ratio between, the worker following the server", async () => {
    const sessions = 6
    const spans = await serveSessions(
      { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" },
      sessions
    )
    const traced = new Set(spans.filter((s) => s.name === "session" && s.role === "server").map((s) => s.traceId))
    expect(traced.size).toBeLessThanOrEqual(sessions)
    // every command span, on the server and in the worker, belongs to a traced session's trace...
    for (const span of spans.filter((s) => s.name.startsWith("command"))) {
      expect(traced.has(span.traceId), `${span.role}:${span.name} outside a traced session`).toBe(true)
    }
    // ...and a traced session has all of them: 2 commands, each applied, decoded in the worker; 1 handled
    for (const trace of traced) {
      const names = spans.filter((s) => s.traceId === trace).map((s) => `${s.role}:${s.name}`).sort()
      expect(names.filter((name) => name !== "server:session" && name.includes("command"))).toEqual([
        "model-host:command.apply",
        "model-host:command.apply",
        "model-host:command.decode",
        "model-host:command.decode",
        "model-host:command.handler",
        "server:command",
        "server:command"
      ])
    }
  })
})
