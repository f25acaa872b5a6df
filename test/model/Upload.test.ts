/**
 * File parameters (`Param.file`): how they show in capabilities (Reactor's upload reference), what they decode, and the
 * envelope's `uploads` section and `fileUploaded` message that carry them.
 */
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Capabilities from "../../src/model/Capabilities.js"
import * as Command from "../../src/model/Command.js"
import * as Param from "../../src/model/Param.js"
import * as Upload from "../../src/model/Upload.js"
import * as Envelope from "../../src/protocol/Envelope.js"
import * as Mailbox from "../../src/session/Mailbox.js"

const Commands = Command.group(
  Command.make("set_picture", {
    description: "The picture",
    payload: {
      picture: Param.file({ description: "A picture", accept: ["image/png", "image/*"], maxBytes: 1000 }),
      caption: Param.string({ default: "" })
    }
  }),
  Command.make("set_any", { description: "Any file", payload: { file: Param.file() } })
)

const png: Upload.UploadedFile = { name: "a.png", mimeType: "image/png", bytes: new Uint8Array([1, 2, 3]) }

describe("Param.file", () => {
  it("shows as Reactor's upload reference in capabilities, with its types and size", () => {
    const [picture, any] = Capabilities.ofGroup(Commands)
    expect(picture!.schema.picture).toEqual({
      type: "object",
      format: "reactor-upload-reference",
      description: "A picture",
      accept: ["image/png", "image/*"],
      maxBytes: 1000,
      required: true
    })
    expect((picture!.jsonSchema as any).properties.picture).toMatchObject({
      type: "object",
      format: "reactor-upload-reference",
      required: ["upload_id", "name", "mime_type", "size"],
      properties: { upload_id: { type: "string" } }
    })
    expect(any!.schema.file).toMatchObject({ type: "object", format: "reactor-upload-reference", required: true })
    expect(Capabilities.fileParams(picture!)).toEqual(
      new Map([["picture", { accept: ["image/png", "image/*"], maxBytes: 1000 }]])
    )
    expect(Capabilities.fileParams(any!)).toEqual(new Map([["file", {}]]))
  })

  it("decodes a resolved file that fits, and refuses anything else naming the uploads section", () => {
    const decode = (data: unknown) => Mailbox.decode(Commands, { type: "set_picture", data })
    expect(Either.getOrThrow(decode({ picture: png })).payload).toEqual({ picture: png, caption: "" })
    // a family pattern
    expect(Either.isRight(decode({ picture: { ...png, mimeType: "image/webp" } }))).toBe(true)
    const refused = (data: unknown) => {
      const result = decode(data)
      if (Either.isRight(result)) throw new Error("decoded")
      return result.left
    }
    expect(refused({ picture: { upload_id: "abc" } })).toMatchObject({ _tag: "InvalidPayload" })
    expect(JSON.stringify(refused({ picture: { upload_id: "abc" } }))).toContain("uploads")
    expect(JSON.stringify(refused({ picture: { ...png, mimeType: "text/plain" } }))).toContain("image/png, image/*")
    expect(JSON.stringify(refused({ picture: { ...png, bytes: new Uint8Array(1001) } }))).toContain(
      "at most 1000 bytes"
    )
    expect(refused({})).toMatchObject({ _tag: "InvalidPayload" })
  })

  it("matches media types exactly or by family", () => {
    expect(Upload.accepts(undefined, "anything/at-all")).toBe(true)
    expect(Upload.accepts(["image/*"], "image/jpeg")).toBe(true)
    expect(Upload.accepts(["image/*"], "imagex/jpeg")).toBe(false)
    expect(Upload.accepts(["image/png"], "IMAGE/PNG; charset=binary")).toBe(true)
    expect(Upload.accepts(["image/png"], "image/pngx")).toBe(false)
    expect(Schema.is(Param.file({ accept: ["image/png"] }))(png)).toBe(true)
  })
})

describe("the envelope's uploads", () => {
  const decode = (value: unknown) => Envelope.decodeText(JSON.stringify(value), 256 * 1024)

  it("carries a command's uploads section as parameter -> upload id (the SDK's FileRef on the wire)", () => {
    const message = {
      scope: "application",
      data: {
        type: "set_picture",
        data: { caption: "x" },
        uploads: { picture: { upload_id: "u1", name: "a.png", mime_type: "image/png", size: 3 } }
      }
    }
    expect(Either.getOrThrow(decode(message))).toEqual({
      _tag: "Command",
      type: "set_picture",
      data: { caption: "x" },
      uploads: { picture: "u1" }
    })
    // an empty section is none
    expect(Either.getOrThrow(decode({ ...message, data: { ...message.data, uploads: {} } }))).not.toHaveProperty(
      "uploads"
    )
  })

  it("refuses a malformed uploads section, and reads fileUploaded", () => {
    const bad = (uploads: unknown) => decode({ scope: "application", data: { type: "set_picture", data: {}, uploads } })
    for (
      const uploads of [[], "u1", { picture: "u1" }, { picture: { upload_id: 3 } }, { picture: { upload_id: "" } }]
    ) {
      expect(Either.isLeft(bad(uploads))).toBe(true)
    }
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`p${i}`, { upload_id: "u" }]))
    expect(Either.flip(bad(many)).pipe(Either.getOrThrow).message).toContain("at most 16 uploads")
    expect(
      Either.getOrThrow(
        decode({ scope: "runtime", data: { type: "fileUploaded", data: { upload_id: "u1", size: 3 } } })
      )
    )
      .toEqual({ _tag: "FileUploaded", uploadId: "u1" })
    expect(Either.isLeft(decode({ scope: "runtime", data: { type: "fileUploaded", data: {} } }))).toBe(true)
  })
})
