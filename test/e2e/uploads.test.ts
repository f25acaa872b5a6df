/**
 * Uploads from the outside: `POST /sessions/{id}/uploads`, the `PUT`, then a command naming the upload in its
 * `uploads` section, over a real socket, against example 09 (a `Param.file` parameter). The model receives the bytes
 * (its frames show the picture), and every refusal has its own code.
 */
import { LogLevel } from "effect"
import { resolve } from "node:path"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { model } from "../../examples/09-picture.js"
import * as Server from "../../src/server/Server.js"
import { Client, eventually, http, sleep } from "./helpers.js"

const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None
const size = { width: 64, height: 36 }

/** A PNG of one colour. */
const png = (rgb: readonly [number, number, number], width = 32, height = 18) =>
  sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer()

describe("uploads", { timeout: 60_000 }, () => {
  let server: Server.Handle

  beforeAll(async () => {
    server = await Server.listen(
      model,
      { host: "127.0.0.1", port: 0, maxSessions: 8, maxUploadBytes: 64 * 1024, maxSessionUploadBytes: 100 * 1024 },
      { source: "test", value: { ...size, fps: 30 } },
      logLevel
    )
  })
  afterAll(() => server?.close())

  const start = async () => {
    const answer = await http(server, "POST", "/start_session", {
      body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    expect(answer.status).toBe(200)
    const session = answer.body as { session_id: string; selected_transport: { url: string } }
    const client = Client.connect(server, session.selected_transport.url + "?format=rgb")
    await client.next("sessionReady")
    return { id: session.session_id, client }
  }

  const reserve = (sessionId: string, body: unknown) => http(server, "POST", `/sessions/${sessionId}/uploads`, { body })

  const upload = async (sessionId: string, bytes: Buffer, mimeType = "image/png") => {
    const slot = await reserve(sessionId, { name: "picture.png", size: bytes.length, mime_type: mimeType })
    expect(slot.status).toBe(201)
    const put = await fetch(slot.body.presigned_url, {
      method: "PUT",
      body: new Uint8Array(bytes),
      headers: { "content-type": mimeType }
    })
    expect(put.status).toBe(200)
    return slot.body.presigned_id as string
  }

  /** The RGB of the newest frame's centre pixel. */
  const centre = (client: Client) => {
    const last = client.frames.at(-1)!
    const i = (Math.floor(size.height / 2) * size.width + Math.floor(size.width / 2)) * 3
    return [...last.payload.subarray(i, i + 3)]
  }

  it("reserves a slot as the SDK expects, takes the bytes, and the command's handler gets the file", async () => {
    const { client, id } = await start()
    const bytes = await png([220, 30, 40])
    const slot = await reserve(id, { name: "red.png", size: bytes.length, mime_type: "image/png" })
    expect(slot.status).toBe(201)
    expect(slot.body).toMatchObject({
      presigned_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      presigned_url: `${server.url}/uploads/${slot.body.presigned_id}`,
      path: `sessions/${id}/uploads/${slot.body.presigned_id}/red.png`
    })
    const put = await fetch(slot.body.presigned_url, { method: "PUT", body: bytes })
    expect(put.status).toBe(200)
    // the SDK's notice after the PUT is taken quietly
    client.runtime("fileUploaded", { upload_id: slot.body.presigned_id, name: "red.png", mime_type: "image/png" })
    client.send({
      scope: "application",
      data: {
        type: "set_picture",
        id: 1,
        data: {},
        uploads: {
          picture: { upload_id: slot.body.presigned_id, name: "red.png", mime_type: "image/png", size: bytes.length }
        }
      }
    })
    const ack = await client.next("commandAck")
    expect(ack.data).toMatchObject({ id: 1, command: "set_picture" })
    const message = await client.next("picture")
    expect(message.data).toMatchObject({ name: "red.png", mimeType: "image/png", bytes: bytes.length })
    // the picture is on screen
    expect(
      await eventually(async () => {
        await client.waitFrames(1)
        const [r, g, b] = centre(client)
        return r! > 180 && g! < 80 && b! < 80
      }, 30_000)
    ).toBe(true)
    expect(client.texts.filter((m) => m.type === "error")).toEqual([])
    await client.close()
  })

  it("refuses each bad upload with its own code", async () => {
    const { client, id } = await start()
    const other = await start()
    const bytes = await png([10, 200, 10])

    // announced too big, of a type no file parameter takes, for no session, with a bad size
    expect(await reserve(id, { name: "big.png", size: 65 * 1024, mime_type: "image/png" })).toMatchObject({
      status: 413,
      body: { code: "upload_too_large", limit: 64 * 1024 }
    })
    expect(await reserve(id, { name: "notes.txt", size: 10, mime_type: "text/plain" })).toMatchObject({
      status: 415,
      body: { code: "upload_type_not_allowed", accepted: ["image/png", "image/jpeg", "image/webp"] }
    })
    expect(await reserve("nope", { name: "a.png", size: 10, mime_type: "image/png" })).toMatchObject({
      status: 404,
      body: { code: "session_not_found" }
    })
    expect((await reserve(id, { name: "a.png", size: -1, mime_type: "image/png" })).body.code).toBe("invalid_upload")
    expect((await reserve(id, { name: "a.png", mime_type: "image/png" })).body.code).toBe("invalid_request")

    // bytes: too few, not a PNG, of another type, twice, to an unknown slot
    const slot = (await reserve(id, { name: "a.png", size: bytes.length, mime_type: "image/png" })).body
    const put = (url: string, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(url, { method: "PUT", body: new Uint8Array(body), headers }).then(async (r) => ({
        status: r.status,
        body: await r.json().catch(() => undefined)
      }))
    expect(await put(slot.presigned_url, bytes.subarray(1))).toMatchObject({
      status: 400,
      body: { code: "upload_size_mismatch", expected: bytes.length }
    })
    expect(await put(slot.presigned_url, Buffer.alloc(bytes.length, 7))).toMatchObject({
      status: 415,
      body: { code: "upload_content_mismatch" }
    })
    expect(await put(slot.presigned_url, bytes, { "content-type": "image/jpeg" })).toMatchObject({
      status: 415,
      body: { code: "upload_type_mismatch", expected: "image/png", content_type: "image/jpeg" }
    })
    expect((await put(slot.presigned_url, bytes)).status).toBe(200)
    expect(await put(slot.presigned_url, bytes)).toMatchObject({
      status: 409,
      body: { code: "upload_already_complete" }
    })
    expect(await put(`${server.url}/uploads/0123456789abcdef0123456789abcdef`, bytes)).toMatchObject({
      status: 404,
      body: { code: "unknown_upload" }
    })

    // the session's quota: 100 KiB in all (this one holds one small file already)
    const quota = await reserve(id, { name: "b.png", size: 60 * 1024, mime_type: "image/png" })
    expect(quota.status).toBe(201)
    expect(await reserve(id, { name: "c.png", size: 60 * 1024, mime_type: "image/png" })).toMatchObject({
      status: 413,
      body: { code: "upload_quota_exceeded", limit: 100 * 1024 }
    })

    // commands: an unknown upload, another session's, a parameter that takes no file, bytes that never came
    const send = (type: string, uploads: Record<string, string>, commandId: number) =>
      client.send({
        scope: "application",
        data: {
          type,
          id: commandId,
          data: {},
          uploads: Object.fromEntries(Object.entries(uploads).map(([k, v]) => [k, { upload_id: v }]))
        }
      })
    send("set_picture", { picture: "feedfeedfeedfeedfeedfeedfeedfeed" }, 10)
    expect((await client.error("unknown_upload")).data).toMatchObject({ id: 10, command: "set_picture" })
    const theirs = await upload(other.id, bytes)
    send("set_picture", { picture: theirs }, 11)
    expect((await client.error("upload_wrong_session")).data).toMatchObject({ id: 11 })
    send("pan", { direction: slot.presigned_id }, 12)
    expect((await client.error("not_a_file_parameter")).data).toMatchObject({
      id: 12,
      command: "pan",
      param: "direction"
    })
    // a file written into data instead of uploads is refused by the parameter's schema
    client.command("set_picture", { picture: { upload_id: slot.presigned_id } }, 13)
    const invalid = await client.error("invalid_payload")
    expect(invalid.data.message).toContain("uploads")
    // the other session's own command with its own upload works
    other.client.send({
      scope: "application",
      data: { type: "set_picture", id: 2, data: {}, uploads: { picture: { upload_id: theirs } } }
    })
    expect((await other.client.next("commandAck")).data).toMatchObject({ id: 2 })
    await other.client.close()
    await client.close()
  })

  it("waits for bytes still on their way, and drops a session's uploads when it ends", async () => {
    const { client, id } = await start()
    const bytes = await png([20, 20, 230])
    const slot = (await reserve(id, { name: "blue.png", size: bytes.length, mime_type: "image/png" })).body
    // the command comes first: it waits for the bytes (uploadWaitMs)
    client.send({
      scope: "application",
      data: { type: "set_picture", id: 3, data: {}, uploads: { picture: { upload_id: slot.presigned_id } } }
    })
    await sleep(200)
    expect(client.texts.some((m) => m.type === "commandAck" || m.type === "error")).toBe(false)
    await fetch(slot.presigned_url, { method: "PUT", body: bytes })
    expect((await client.next("commandAck")).data).toMatchObject({ id: 3 })

    const pending = (await reserve(id, { name: "later.png", size: bytes.length, mime_type: "image/png" })).body
    expect((await http(server, "POST", "/stop_session", { body: { session_id: id } })).status).toBe(200)
    await client.closed
    const after = await fetch(pending.presigned_url, { method: "PUT", body: bytes })
    expect(after.status).toBe(404)
    expect((await after.json()).code).toBe("unknown_upload")
  })
})

describe("uploads to a model in a worker thread (reactor run's default)", { timeout: 90_000 }, () => {
  let server: Server.Handle

  beforeAll(async () => {
    server = await Server.listen(
      { _tag: "Worker", module: resolve("examples/09-picture.ts") },
      { host: "127.0.0.1", port: 0, maxSessions: 1 },
      { source: "test", value: { ...size, fps: 30 } },
      logLevel
    )
  }, 60_000)
  afterAll(() => server?.close())

  it("the file's bytes cross to the worker and the handler uses them", async () => {
    const started = await http(server, "POST", "/start_session", {
      body: { supported_transports: [{ protocol: "websocket", version: "1" }] }
    })
    const id = started.body.session_id as string
    const client = Client.connect(server, started.body.selected_transport.url + "?format=rgb")
    await client.next("sessionReady")
    const bytes = await png([240, 240, 240])
    const slot = await http(server, "POST", `/sessions/${id}/uploads`, {
      body: { name: "white.png", size: bytes.length, mime_type: "image/png" }
    })
    expect((await fetch(slot.body.presigned_url, { method: "PUT", body: new Uint8Array(bytes) })).status).toBe(200)
    client.send({
      scope: "application",
      data: { type: "set_picture", id: 1, data: {}, uploads: { picture: { upload_id: slot.body.presigned_id } } }
    })
    expect((await client.next("commandAck")).data).toMatchObject({ id: 1 })
    expect((await client.next("picture")).data).toMatchObject({ name: "white.png", bytes: bytes.length })
    expect(
      await eventually(async () => {
        await client.waitFrames(1)
        const last = client.frames.at(-1)!
        const i = (Math.floor(size.height / 2) * size.width + Math.floor(size.width / 2)) * 3
        return [...last.payload.subarray(i, i + 3)].every((v) => v > 200)
      }, 30_000)
    ).toBe(true)
    await client.close()
  })
})
