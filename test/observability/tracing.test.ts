/**
 * Traces from the outside: with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an OTLP/HTTP receiver on loopback (an
 * in-memory collector: it keeps every span it is sent), a server whose model runs in a worker thread exports the
 * session's span (with its end reason), each command's span as its child, and, from the worker, the command's
 * decode and handler spans and the model's load, linked to the server's spans across the worker boundary.
 */
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import * as Tracing from "../../src/session/Tracing.js"
import { connect, eventually } from "../e2e/helpers.js"
import { collector, descends, withEnv } from "./Collector.js"

describe("traces over OTLP", () => {
  let otlp: Awaited<ReturnType<typeof collector>>
  beforeAll(async () => {
    otlp = await collector()
  })
  afterAll(() => {
    otlp.server.close()
  })

  it("reads the standard endpoint variables, and is off without them", () => {
    expect(Tracing.endpointFromEnv({})).toBeUndefined()
    expect(Tracing.endpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }))
      .toBe("http://collector:4318/v1/traces")
    expect(Tracing.endpointFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://x:1/traces" })).toBe(
      "http://x:1/traces"
    )
  })

  // Every span kept: by ratio 1, or by a sampler that keeps all (the default samples one session in twenty).
  it.each([
    { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "1" },
    { OTEL_TRACES_SAMPLER: "always_on", OTEL_TRACES_SAMPLER_ARG: "" }
  ])("links a session, its commands and the model's load across the worker boundary (%o)", async (sampler) => {
    otlp.spans.length = 0
    process.env.REACTOR_FIXTURE = JSON.stringify({})
    const server = await withEnv(
      { ...sampler, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url },
      () =>
        Server.listen(
          { _tag: "Worker", module: fileURLToPath(new URL("../fixtures/server-model-worker.ts", import.meta.url)) },
          { host: "127.0.0.1", port: 0 }
        )
    )
    let frames = 0
    try {
      const { client } = await connect(server, "?format=rgb")
      // enough frames that a span per frame would outnumber everything else in the session's trace
      await client.waitFrames(80)
      client.command("set_color", { r: 200 }, "traced")
      await client.next((m) => m.type === "commandAck" && m.data.id === "traced")
      client.command("set_color", { r: 900 }, "bad")
      await client.error("invalid_payload")
      client.runtime("stop")
      await client.closed
      frames = client.frameCount
      const find = (name: string, role: string) => otlp.spans.find((s) => s.name === name && s.role === role)
      expect(
        await eventually(() =>
          find("session", "server") !== undefined && find("command.handler", "model-host") !== undefined &&
          find("model.load", "model-host") !== undefined
        ),
        JSON.stringify(otlp.spans.map((s) => `${s.role}:${s.name}`))
      ).toBe(true)
    } finally {
      await server.close()
    }
    const spans = otlp.spans
    const session = spans.find((s) => s.name === "session" && s.role === "server")!
    expect(session.attributes["session.end_reason"]).toBe("stopped")
    // No span per frame: the whole trace (the HTTP request, the session, 2 commands and theirs on both sides, the
    // host protocol calls) is a few dozen spans, whatever the frames streamed.
    const trace = spans.filter((s) => s.traceId === session.traceId)
    expect(frames).toBeGreaterThanOrEqual(80)
    expect(trace.length, trace.map((s) => s.name).join(",")).toBeLessThan(40)
    const commands = spans.filter((s) => s.name === "command" && s.role === "server")
    expect(commands).toHaveLength(2)
    for (const command of commands) expect(command.attributes["command.name"]).toBe("set_color")
    for (const command of commands) {
      expect(command.parentSpanId).toBe(session.spanId)
      expect(command.traceId).toBe(session.traceId)
    }
    // In the worker: each command's apply, with decode and handler (the bad one fails in decode) under it.
    const applies = spans.filter((s) => s.name === "command.apply" && s.role === "model-host")
    expect(applies).toHaveLength(2)
    for (const apply of applies) {
      expect(commands.some((command) => descends(spans, apply, command))).toBe(true)
    }
    const handler = spans.find((s) => s.name === "command.handler" && s.role === "model-host")!
    expect(applies.some((apply) => descends(spans, handler, apply))).toBe(true)
    expect(spans.filter((s) => s.name === "command.decode" && s.role === "model-host")).toHaveLength(2)
    // The model's load in the worker is a child of the server's load call.
    const load = spans.find((s) => s.name === "model.load" && s.role === "model-host")!
    const hostLoad = spans.find((s) => s.name === "model_host.load" && s.role === "server")!
    expect(load.traceId).toBe(hostLoad.traceId)
    expect(descends(spans, load, hostLoad)).toBe(true)
  })
})
