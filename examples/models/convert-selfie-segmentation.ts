/**
 * Regenerates `selfie_segmentation.onnx` (next to this file) from the `.tflite` file that Google's
 * `@mediapipe/selfie_segmentation` npm package ships (Apache-2.0; see NOTICE.md): the same weights, as float32 ONNX
 * with a free batch dimension, NCHW: input `[batch, 3, 256, 256]` RGB in [0, 1], output `[batch, 1, 256, 256]` the
 * probability that a pixel shows a person. `npx tsx examples/models/convert-selfie-segmentation.ts` (the package is a
 * devDependency); the test in test/examples/models.test.ts checks the committed file is what this script writes.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Onnx from "./convert/Onnx.js"
import * as Tflite from "./convert/Tflite.js"
import { convert } from "./convert/TfliteToOnnx.js"

/** Where the converted network is kept in the repository. */
export const onnxPath = fileURLToPath(new URL("selfie_segmentation.onnx", import.meta.url))

/** The source: the general (square, 256x256) selfie model inside the npm package. */
export const tflitePath = (): string =>
  path.join(
    path.dirname(createRequire(import.meta.url).resolve("@mediapipe/selfie_segmentation/package.json")),
    "selfie_segmentation.tflite"
  )

/** The ONNX bytes converted from the package's `.tflite` file. */
export const convertSelfieSegmentation = (source = tflitePath()): Uint8Array =>
  Onnx.encode(convert(Tflite.read(fs.readFileSync(source)), "selfie_segmentation"), {
    opset: 17,
    producer: "effect-reactor examples/models/convert-selfie-segmentation.ts"
  })

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bytes = convertSelfieSegmentation()
  fs.writeFileSync(onnxPath, bytes)
  console.log(`wrote ${onnxPath} (${bytes.length} bytes)`)
}
