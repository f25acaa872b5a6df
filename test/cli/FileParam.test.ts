/**
 * File parameters on the headless command line: `key=@path` (and `"@path"` in a JSON line) reads the file from disk as
 * an upload would hand it to the model; the command list says how to type one.
 */
import { Either } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { Commands } from "../../examples/09-picture.js"
import * as CommandLine from "../../src/cli/CommandLine.js"
import * as CommandList from "../../src/cli/CommandList.js"
import * as Capabilities from "../../src/model/Capabilities.js"

const commands = Capabilities.ofGroup(Commands)

describe("file parameters on the command line", () => {
  const dir = mkdtempSync(join(tmpdir(), "reactor-cli-file-"))
  const path = join(dir, "a picture.PNG")
  writeFileSync(path, new Uint8Array([137, 80, 78, 71]))

  const dataOf = (line: string) => {
    const parsed = Either.getOrThrow(CommandLine.parse(line, commands))
    if (parsed._tag !== "Command") throw new Error(parsed._tag)
    return parsed.incoming.data as Record<string, any>
  }

  it("reads key=@path and a JSON \"@path\" into the file the handler receives", () => {
    const expected = { name: "a picture.PNG", mimeType: "image/png", bytes: new Uint8Array([137, 80, 78, 71]) }
    expect(dataOf(`set_picture picture="@${path}"`).picture).toEqual(expected)
    expect(dataOf(JSON.stringify({ type: "set_picture", data: { picture: `@${path}` } })).picture).toEqual(expected)
  })

  it("leaves anything else as text, for the session to refuse", () => {
    expect(dataOf("set_picture picture=plain").picture).toBe("plain")
    expect(dataOf(`set_picture picture=@${join(dir, "missing.png")}`).picture).toBe(`@${join(dir, "missing.png")}`)
  })

  it("lists a file parameter with its types and how to type it", () => {
    const text = CommandList.render({ name: "picture-world" }, commands)
    expect(text).toContain("picture  a file, typed @path (image/png, image/jpeg, image/webp), required")
    expect(text).toContain("set_picture picture=\"@picture.png\"")
  })
})
