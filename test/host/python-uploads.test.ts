/**
 * A Python model (Reactor's Python API) whose command takes an `UploadedFile`: the parameter shows as Reactor's upload
 * reference in capabilities, and a file uploaded over HTTP and named in a command's `uploads` section reaches the
 * Python method as `UploadedFile(name, mime_type, data: bytes)`, byte for byte.
 */
import { LogLevel } from "effect"
import { createHash } from "node:crypto"
import { resolve } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../../src/server/Server.js"
import { Client, http } from "../e2e/helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

describe("a Python model takes an uploaded file", { timeout: 120_000 }, () => {
  let server: Server.Handle

  beforeAll(async () => {
    server = await Server.listen(
      { _tag: "Python", module: resolve("test/fixtures/python/picture.py") },
      { host: "127.0.0.1", port: 0, maxSessions: 1 },
      undefined,
      logLevel
    )
  }, 120_000)
  afterAll(() => server?.close())

  it("declares the parameter as an upload reference, and the method gets the bytes", async () => {
    const capabilities = await http(server, "GET", "/capabilities")
    expect(capabilities.body.commands[0].schema.picture).toMatchObject({
      type: "object",
      format: "reactor-upload-reference",
      required: true
    })
    const started = await http(server, "POST", "/start_session", {
      body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    const id = started.body.session_id as string
    const client = Client.connect(server, started.body.selected_transport.url)
    await client.next("sessionReady")
    // bytes of every value, so a corruption anywhere (text decoding, base64) shows in the digest
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7 + 3) % 256)
    const slot = await http(server, "POST", `/sessions/${id}/uploads`, {
      body: { name: "noise.bin", size: bytes.length, mime_type: "application/octet-stream" }
    })
    expect(slot.status).toBe(201)
    expect((await fetch(slot.body.presigned_url, { method: "PUT", body: bytes })).status).toBe(200)
    client.send({
      scope: "application",
      data: { type: "set_picture", id: 1, data: {}, uploads: { picture: { upload_id: slot.body.presigned_id } } }
    })
    expect((await client.next("commandAck")).data).toMatchObject({ id: 1 })
    const message = await client.next("picture")
    expect(message.data).toEqual({
      name: "noise.bin",
      mime_type: "application/octet-stream",
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      is_bytes: true
    })
    await client.close()
  })
})
