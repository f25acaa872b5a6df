/**
 * A Python model as a runner: `reactor run examples/python/prompt.py --join <postgres-url>` joins the cluster like a
 * TypeScript one. A session placed on it through the coordinator streams its frames, and a command sent over the
 * runner's WebSocket transport reaches the Python method: the model answers `prompt_changed` and its frames take the
 * new prompt's colour (prompt.py shades each frame from the prompt's SHA-256: base + 2·k per channel). SIGTERM then
 * drains it and it leaves the cluster with exit code 0.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { Client, eventually } from "../e2e/helpers.js"
import { subprocessMs, subprocessTestMs } from "../fixtures/bounds.js"
import * as PythonModules from "../fixtures/python-modules.js"
import { schemas } from "../sdk/SdkSchemas.js"
import * as Cluster from "./Cluster.js"
import * as Postgres from "./Postgres.js"

const python = PythonModules.needs("numpy", "pydantic")
const runs = Postgres.run && python.run
if (!runs) console.warn(`test/cluster/python.test.ts: skipped, ${Postgres.run ? python.missing : Postgres.missing}`)

interface Session {
  readonly session_id: string
  readonly state: string
  readonly runner?: { readonly id: string }
  readonly selected_transport?: { readonly protocol: string; readonly url: string }
  readonly capabilities?: { readonly commands?: ReadonlyArray<{ readonly name: string }> }
}

/** Whether an RGB pixel is prompt.py's shade of `prompt`: the same step 2·k over the prompt's base on each channel. */
const shadeOf = (prompt: string, [r, g, b]: ReadonlyArray<number>) => {
  const base = createHash("sha256").update(prompt).digest()
  const steps = [r! - base[0]!, g! - base[1]!, b! - base[2]!].map((d) => ((d % 256) + 256) % 256)
  return steps[0] === steps[1] && steps[1] === steps[2] && steps[0]! % 2 === 0
}

describe.skipIf(!runs)("cluster: a Python model as a runner", { timeout: subprocessTestMs }, () => {
  let cluster: Cluster.Cluster
  let client: Client | undefined
  beforeAll(async () => {
    Postgres.ensure()
    python.ensure()
    cluster = await Cluster.start([{ model: "examples/python/prompt.py", maxSessions: 1 }])
  }, subprocessTestMs)
  afterAll(async () => {
    client?.ws.terminate()
    await client?.closed
    await cluster?.stop()
  })

  it("a session placed through the coordinator streams the Python model's frames, and a command reaches its method", async () => {
    const health = await (await fetch(`${cluster.coordinator.url}/health`)).json()
    expect(health).toMatchObject({ runners: [{ model: "python-prompt", capacity: 1 }] })

    const created = await cluster.api("/sessions", {
      method: "POST",
      body: JSON.stringify({
        model: { name: "python-prompt" },
        supported_transports: [{ protocol: "websocket", version: "1" }]
      })
    })
    const body = await created.json() as Session
    expect(created.status, JSON.stringify(body)).toBe(200)
    let session = body
    await eventually(
      async () => {
        session = await (await cluster.api(`/sessions/${body.session_id}`)).json() as Session
        return session.state !== "PENDING"
      },
      subprocessMs,
      100
    )
    expect(session.state, JSON.stringify(session)).toBe("ACTIVE")
    expect(schemas.SessionResponseSchema.safeParse(session).success).toBe(true)
    expect(session.capabilities?.commands?.map((c) => c.name)).toContain("set_prompt")

    const url = new URL(session.selected_transport!.url)
    url.searchParams.set("format", "rgb")
    client = new Client(new WebSocket(url))
    await client.next("sessionReady", subprocessMs)
    const ping = setInterval(() => client!.ws.readyState === WebSocket.OPEN && client!.runtime("ping"), 2_000)
    void client.closed.then(() => clearInterval(ping))
    await client.waitFrames(4, subprocessMs)
    const pixel = () => {
      const frame = client!.frames.at(-1)!
      return [...frame.payload.subarray(0, 3)]
    }
    expect(shadeOf("a calm forest", pixel())).toBe(true)

    client.command("set_prompt", { prompt: "a desert at dusk" })
    expect(await client.next((m) => m.scope === "application", subprocessMs)).toMatchObject({
      type: "prompt_changed",
      data: { prompt: "a desert at dusk" }
    })
    // the frames follow the new prompt
    const followed = await eventually(
      async () => {
        await client!.waitFrames(1, subprocessMs)
        return shadeOf("a desert at dusk", pixel())
      },
      subprocessMs,
      0
    )
    expect(followed).toBe(true)
    expect(client.headers.at(-1)).toMatchObject({ codec: "rgb", width: 640, height: 360 })

    // ended through the coordinator: the Python session stops, the client hears it
    const deleted = await cluster.api(`/sessions/${session.session_id}`, { method: "DELETE" })
    expect(await deleted.json()).toMatchObject({ state: "CLOSED", reason: "stopped" })
    await client.next("sessionEnded", subprocessMs)

    // SIGTERM: the Python runner drains (nothing left to run) and leaves the cluster cleanly
    const runner = cluster.runners[0]!
    runner.child.kill("SIGTERM")
    expect(await runner.exited).toBe(0)
    expect(
      await eventually(
        async () =>
          ((await (await fetch(`${cluster.coordinator.url}/health`)).json()) as { runners: [] }).runners
            .length === 0,
        subprocessMs,
        200
      )
    ).toBe(true)
  })
})
