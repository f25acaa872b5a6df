/**
 * `GET /metrics` from the outside: behind the token, off when the settings say so, the series of a session's frames
 * and commands (with the model in this thread and in a worker thread), a bounded number of series however many
 * sessions come and go, and a real Prometheus scraping a live server (its query API, `promtool check metrics`).
 */
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { connect, eventually, http, startServer } from "../e2e/helpers.js"
import * as Prometheus from "./Prometheus.js"

const scrape = async (server: Server.Handle, token?: string) => {
  const answer = await http(server, "GET", "/metrics", {
    headers: token !== undefined ? { authorization: `Bearer ${token}` } : {}
  })
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  expect(answer.headers.get("content-type")).toContain("text/plain")
  return { text: answer.body as string, samples: Prometheus.samples(answer.body as string) }
}

const value = (samples: Map<string, number>, series: string) => samples.get(series) ?? 0

/** Runs a session: frames, three applied commands, an invalid payload and an unknown command; then ends it. */
const exercise = async (server: Server.Handle, headers: Record<string, string> = {}) => {
  const { client, session } = await connect(server, "?format=rgb", headers)
  await client.waitFrames(5)
  for (let i = 0; i < 3; i++) {
    client.command("set_color", { r: 10 * i }, `ok-${i}`)
    await client.next((m) => m.type === "commandAck" && m.data.id === `ok-${i}`)
  }
  client.command("set_color", { r: 999 }, "bad")
  await client.error("invalid_payload")
  client.command("no_such_command", {}, "unknown")
  await client.error("unknown_command")
  await client.waitFrames(3)
  return { client, session }
}

describe("GET /metrics", () => {
  let server: Server.Handle
  beforeAll(async () => {
    server = await startServer({ token: "s3cret" })
  })
  afterAll(() => server.close())

  it("needs the token like every endpoint, and answers Prometheus text with it", async () => {
    const refused = await http(server, "GET", "/metrics")
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe("unauthorized")
    const { text } = await scrape(server, "s3cret")
    expect(text).toContain("# HELP reactor_sessions_started_total sessions started")
    expect(text).toContain("# TYPE reactor_frames_emitted_total counter")
    expect(text).toContain("# TYPE reactor_command_apply_seconds histogram")
  })

  it("counts a session's frames, commands (applied, rejected by code), and its end by reason", async () => {
    const auth = { authorization: "Bearer s3cret" }
    const before = (await scrape(server, "s3cret")).samples
    const { client } = await exercise(server, auth)
    const during = (await scrape(server, "s3cret")).samples
    expect(value(during, "reactor_sessions_live") - value(before, "reactor_sessions_live")).toBe(1)
    expect(value(during, "reactor_sessions_started_total") - value(before, "reactor_sessions_started_total")).toBe(1)
    expect(value(during, "reactor_connections_live{transport=\"websocket\"}")).toBeGreaterThanOrEqual(1)
    const applied = "reactor_commands_applied_total{command=\"set_color\"}"
    expect(value(during, applied) - value(before, applied)).toBe(3)
    const invalid = "reactor_commands_rejected_total{command=\"set_color\",code=\"invalid_payload\"}"
    expect(value(during, invalid) - value(before, invalid)).toBe(1)
    const unknown = "reactor_commands_rejected_total{command=\"unknown\",code=\"unknown_command\"}"
    expect(value(during, unknown) - value(before, unknown)).toBe(1)
    expect(value(during, "reactor_command_apply_seconds_count") - value(before, "reactor_command_apply_seconds_count"))
      .toBe(3)
    const emitted = value(during, "reactor_frames_emitted_total") - value(before, "reactor_frames_emitted_total")
    expect(emitted).toBeGreaterThanOrEqual(8)
    expect(value(during, "reactor_frames_generated_total")).toBeGreaterThanOrEqual(
      value(during, "reactor_frames_emitted_total")
    )
    expect(value(during, "reactor_frame_lateness_seconds_count")).toBeGreaterThanOrEqual(emitted)
    expect(value(during, "reactor_model_step_seconds_count")).toBeGreaterThan(0)
    expect(value(during, "reactor_command_to_frame_seconds_count")).toBeGreaterThan(0)
    expect(value(during, "reactor_process_rss_bytes")).toBeGreaterThan(1e6)
    expect(value(during, "reactor_process_heap_bytes")).toBeGreaterThan(1e5)

    client.runtime("stop")
    await client.closed
    const ended = "reactor_sessions_ended_total{reason=\"stopped\"}"
    expect(
      await eventually(async () => {
        const after = (await scrape(server, "s3cret")).samples
        return value(after, ended) - value(before, ended) === 1 &&
          value(after, "reactor_sessions_live") === value(before, "reactor_sessions_live")
      })
    ).toBe(true)
  })

  it("keeps a bounded number of series: 200 sessions started and ended add none", async () => {
    const auth = { authorization: "Bearer s3cret" }
    const cycle = async () => {
      const started = await http(server, "POST", "/start_session", { body: {}, headers: auth })
      expect(started.status).toBe(200)
      const stopped = await http(server, "DELETE", `/sessions/${started.body.session_id}`, { headers: auth })
      expect(stopped.status).toBe(200)
    }
    const ended = "reactor_sessions_ended_total{reason=\"stopped\"}"
    const base = value((await scrape(server, "s3cret")).samples, ended)
    /** The samples once `n` more sessions have been counted as ended (the count follows the end by a moment). */
    const settled = async (n: number) => {
      let samples = new Map<string, number>()
      const held = await eventually(async () => {
        samples = (await scrape(server, "s3cret")).samples
        return value(samples, ended) - base === n
      })
      expect(held, `ended: ${value(samples, ended) - base}, expected ${n}`).toBe(true)
      return samples
    }
    await cycle()
    const first = await settled(1)
    for (let i = 0; i < 199; i++) await cycle()
    const after = await settled(200)
    expect([...after.keys()].sort()).toEqual([...first.keys()].sort())
    expect(after.size).toBeLessThan(400)
    expect(value(after, "reactor_sessions_live")).toBe(value(first, "reactor_sessions_live"))
  }, 180_000)
})

describe("GET /metrics, switched off", () => {
  it("answers 404 not_found, saying how to turn metrics on", async () => {
    const server = await startServer({ metrics: false })
    try {
      const answer = await http(server, "GET", "/metrics")
      expect(answer.status).toBe(404)
      expect(answer.body.code).toBe("not_found")
      expect(answer.body.message).toContain("metrics are off")
    } finally {
      await server.close()
    }
  })
})

describe("GET /metrics with the model in a worker thread", () => {
  it("carries the worker's figures (frames, commands, step times) into the server's metrics", async () => {
    process.env.REACTOR_FIXTURE = JSON.stringify({})
    const server = await Server.listen(
      { _tag: "Worker", module: fileURLToPath(new URL("../fixtures/server-model-worker.ts", import.meta.url)) },
      { host: "127.0.0.1", port: 0 },
      undefined
    )
    try {
      const before = (await scrape(server)).samples
      expect(value(before, "reactor_model_hosts_alive")).toBe(1)
      expect(value(before, "reactor_model_load_seconds_count")).toBeGreaterThanOrEqual(1)
      const { client } = await exercise(server)
      const during = (await scrape(server)).samples
      const applied = "reactor_commands_applied_total{command=\"set_color\"}"
      expect(value(during, applied) - value(before, applied)).toBe(3)
      const invalid = "reactor_commands_rejected_total{command=\"set_color\",code=\"invalid_payload\"}"
      expect(value(during, invalid) - value(before, invalid)).toBe(1)
      expect(value(during, "reactor_frames_emitted_total") - value(before, "reactor_frames_emitted_total"))
        .toBeGreaterThanOrEqual(8)
      expect(value(during, "reactor_model_step_seconds_count")).toBeGreaterThan(0)
      expect(
        value(during, "reactor_command_apply_seconds_count") - value(before, "reactor_command_apply_seconds_count")
      )
        .toBe(3)
      await client.close()
    } finally {
      await server.close()
    }
  })
})

describe.runIf(Prometheus.run)("a real Prometheus scraping a live server", () => {
  it("finds the session, frame and command series with plausible values; promtool accepts /metrics", async () => {
    const server = await startServer({ token: "prom-token" }, { fps: 30 })
    let prometheus: Prometheus.Running | undefined
    try {
      prometheus = await Prometheus.start(`127.0.0.1:${server.address.port}`, "prom-token")
      const auth = { authorization: "Bearer prom-token" }
      // The process's metrics are shared by every server of this file: values are checked against a baseline.
      const base = (await scrape(server, "prom-token")).samples
      const at = (series: string) => value(base, series)
      const { client } = await exercise(server, auth)
      const p = prometheus
      const scraped = async (promql: string, check: (value: number) => boolean) => {
        let last: unknown
        const held = await eventually(
          async () => {
            const result = await p.query(promql)
            last = result
            return result.length > 0 && result.every((item) => check(item.value))
          },
          60_000,
          250
        )
        expect(held, `${promql}: ${JSON.stringify(last)}\n${p.output()}`).toBe(true)
      }
      const applied = "reactor_commands_applied_total{command=\"set_color\"}"
      const invalid = "reactor_commands_rejected_total{command=\"set_color\",code=\"invalid_payload\"}"
      const stopped = "reactor_sessions_ended_total{reason=\"stopped\"}"
      await scraped("up{job=\"reactor\"}", (v) => v === 1)
      await scraped("reactor_sessions_live", (v) => v === at("reactor_sessions_live") + 1)
      await scraped("reactor_sessions_started_total", (v) => v === at("reactor_sessions_started_total") + 1)
      await scraped(applied, (v) => v === at(applied) + 3)
      await scraped(invalid, (v) => v === at(invalid) + 1)
      await scraped("reactor_frames_emitted_total", (v) => v >= at("reactor_frames_emitted_total") + 8)
      await scraped("reactor_frames_generated_total", (v) => v >= at("reactor_frames_generated_total") + 8)
      await scraped(
        "reactor_command_apply_seconds_count",
        (v) => v === at("reactor_command_apply_seconds_count") + 3
      )
      // every command was applied within the histogram's top bucket: a plausible handler time
      const top = "reactor_command_apply_seconds_bucket{le=\"2.5\"}"
      await scraped(top, (v) => v === at(top) + 3)
      await scraped(
        "reactor_frame_lateness_seconds_count",
        (v) => v >= at("reactor_frame_lateness_seconds_count") + 8
      )
      await scraped("reactor_process_rss_bytes", (v) => v > 1e6)
      client.runtime("stop")
      await client.closed
      await scraped(stopped, (v) => v === at(stopped) + 1)
      await scraped("reactor_sessions_live", (v) => v === at("reactor_sessions_live"))

      const { text } = await scrape(server, "prom-token")
      const checked = Prometheus.checkMetrics(text)
      expect(checked.status, checked.output).toBe(0)
    } finally {
      await prometheus?.stop()
      await server.close()
    }
  }, 180_000)
})

if (!Prometheus.run) console.warn(`skipping the Prometheus scrape test: ${Prometheus.missing}`)
