/**
 * Regenerates `esrgan_slim_x2.onnx` (next to this file) from the TensorFlow.js layers model that UpscalerJS's npm
 * package `@upscalerjs/esrgan-slim` 1.0.0 ships in `models/x2/` (MIT; see NOTICE.md): the same weights, as float32
 * ONNX, NCHW, batch, height and width free: input `LR` `[batch, 3, h, w]` RGB in [0, 255], output `SR`
 * `[batch, 3, 2h, 2w]` in about [0, 255].
 *
 * The package is not a dependency: it peer-depends on all of `@tensorflow/tfjs` (tens of MB) for a 900 KB network.
 * `npx tsx examples/models/convert-esrgan-slim.ts --fetch` unpacks it with `npm pack` into
 * `node_modules/.cache/esrgan-slim/` (checking the files' SHA-256 against NOTICE.md's); then
 * `npx tsx examples/models/convert-esrgan-slim.ts` writes the ONNX file. CI fetches it, and test/examples/models.test.ts
 * checks that the committed file is byte for byte what this script writes.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as KerasToOnnx from "./convert/KerasToOnnx.js"
import * as Onnx from "./convert/Onnx.js"

/** Where the converted network is kept in the repository. */
export const onnxPath = fileURLToPath(new URL("esrgan_slim_x2.onnx", import.meta.url))

/** The package and version the weights come from. */
export const source = "@upscalerjs/esrgan-slim@1.0.0"

/** SHA-256 of the files read (as NOTICE.md lists them). */
export const sha256 = {
  "models/x2/model.json": "8efb488c2caed0196a6163e3f06798f9245e92623ffd50654a26c372e09150ea",
  "models/x2/group1-shard1of1.bin": "5cb464ae4d390ce0a771afd5feaf60fbfcdb18ab48a56db98cdf6b88202369de"
} as const

/** The unpacked package: `ESRGAN_SLIM_DIR`, or where `--fetch` puts it. */
export const packageDir = (): string =>
  process.env.ESRGAN_SLIM_DIR ??
    fileURLToPath(new URL("../../node_modules/.cache/esrgan-slim/package", import.meta.url))

/** Whether the package's files are there. */
export const available = (dir = packageDir()): boolean =>
  Object.keys(sha256).every((file) => fs.existsSync(path.join(dir, file)))

/** Reads one of the package's files, refusing one whose SHA-256 is not the one listed. */
const read = (dir: string, file: keyof typeof sha256): Uint8Array => {
  const bytes = fs.readFileSync(path.join(dir, file))
  const digest = createHash("sha256").update(bytes).digest("hex")
  if (digest !== sha256[file]) throw new Error(`${file} in ${dir}: SHA-256 ${digest}, expected ${sha256[file]}`)
  return bytes
}

/** The ONNX bytes converted from the package's x2 model. */
export const convertEsrganSlim = (dir = packageDir()): Uint8Array => {
  const model = JSON.parse(new TextDecoder().decode(read(dir, "models/x2/model.json"))) as KerasToOnnx.ModelJson
  const shard = (file: string) => {
    if (file !== "group1-shard1of1.bin") throw new Error(`unexpected weight shard ${file}`)
    return read(dir, "models/x2/group1-shard1of1.bin")
  }
  return Onnx.encode(KerasToOnnx.convert(model, shard, "esrgan_slim_x2"), {
    opset: 17,
    producer: "effect-reactor examples/models/convert-esrgan-slim.ts"
  })
}

/** Unpacks the package from the npm registry with `npm pack` (no install, no peers) into `packageDir()`'s parent. */
export const fetchPackage = (dir = packageDir()): void => {
  const parent = path.dirname(dir)
  fs.mkdirSync(parent, { recursive: true })
  const tarball = execFileSync("npm", ["pack", source, "--pack-destination", parent, "--silent"], {
    encoding: "utf8"
  }).trim().split("\n").at(-1)!
  fs.rmSync(dir, { recursive: true, force: true })
  execFileSync("tar", ["xzf", path.join(parent, tarball), "-C", parent])
  for (const file of Object.keys(sha256) as Array<keyof typeof sha256>) read(dir, file)
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--fetch")) {
    fetchPackage()
    console.log(`unpacked ${source} into ${packageDir()}`)
  } else {
    const bytes = convertEsrganSlim()
    fs.writeFileSync(onnxPath, bytes)
    console.log(`wrote ${onnxPath} (${bytes.length} bytes)`)
  }
}
