/**
 * Converts a TensorFlow.js layers model (a Keras functional model as `tensorflowjs_converter` writes it: `model.json`
 * plus binary weight shards) to ONNX. NHWC activations become NCHW, `[kh, kw, in, out]` kernels become
 * `[out, in, kh, kw]`, and the batch, height and width are left free, so one file serves any picture size and a
 * batch of pictures. Only the layers of UpscalerJS's RDN super-resolution networks are known (Conv2D, Activation
 * relu, Concatenate on the channels, Add, UpSampling2D nearest); any other one is refused by name.
 */
import * as Onnx from "./Onnx.js"
import { transpose4 } from "./TfliteToOnnx.js"

/** The parts of `model.json` read here. */
export interface ModelJson {
  readonly format: string
  readonly modelTopology: {
    readonly model_config: {
      readonly class_name: string
      readonly config: {
        readonly name: string
        readonly layers: ReadonlyArray<Layer>
        readonly output_layers: ReadonlyArray<readonly [string, number, number]>
      }
    }
  }
  readonly weightsManifest: ReadonlyArray<{
    readonly paths: ReadonlyArray<string>
    readonly weights: ReadonlyArray<
      { readonly name: string; readonly shape: ReadonlyArray<number>; readonly dtype: string }
    >
  }>
}

/** One Keras layer: its class, config, and the layers it reads (`inbound_nodes[0]`, `[name, 0, 0, {}]` each). */
export interface Layer {
  readonly class_name: string
  readonly name: string
  readonly config: Record<string, unknown>
  readonly inbound_nodes: ReadonlyArray<ReadonlyArray<readonly [string, number, number, unknown]>>
}

/** The weights by name (`layer/kernel`, `layer/bias`), read from the shards in the manifest's order. */
export const readWeights = (
  model: ModelJson,
  shard: (path: string) => Uint8Array
): Map<string, { readonly shape: ReadonlyArray<number>; readonly data: Float32Array }> => {
  const weights = new Map<string, { shape: ReadonlyArray<number>; data: Float32Array }>()
  for (const group of model.weightsManifest) {
    const parts = group.paths.map(shard)
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0)
    let offset = 0
    for (const w of group.weights) {
      if (w.dtype !== "float32") throw new Error(`weight ${w.name}: dtype ${w.dtype} is not supported (float32 only)`)
      const count = w.shape.reduce((a, b) => a * b, 1)
      const data = new Float32Array(count)
      new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + count * 4))
      weights.set(w.name, { shape: w.shape, data })
      offset += count * 4
    }
    if (offset !== bytes.length) throw new Error(`weights use ${offset} bytes of ${bytes.length} in the shards`)
  }
  return weights
}

const floatInit = (name: string, data: Float32Array, dims: ReadonlyArray<number>): Onnx.Initializer => ({
  name,
  dims,
  type: Onnx.DataType.FLOAT,
  raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
})

/** Converts the model to an ONNX graph: input `[batch, 3, height, width]`, output at the network's scale. */
export const convert = (model: ModelJson, shard: (path: string) => Uint8Array, name: string): Onnx.Graph => {
  const { config } = model.modelTopology.model_config
  const weights = readWeights(model, shard)
  const weight = (key: string) => {
    const w = weights.get(key)
    if (w === undefined) throw new Error(`no weight named ${key}`)
    return w
  }
  const nodes: Array<Onnx.Node> = []
  const initializers: Array<Onnx.Initializer> = []
  const inputs: Array<Onnx.Value> = []
  for (const layer of config.layers) {
    const from = (layer.inbound_nodes[0] ?? []).map(([source]) => source)
    const c = layer.config
    switch (layer.class_name) {
      case "InputLayer": {
        const shape = c.batch_input_shape as ReadonlyArray<number | null>
        if (shape.length !== 4 || shape[3] !== 3) throw new Error(`input ${layer.name}: expected [n, h, w, 3] pictures`)
        inputs.push({ name: layer.name, type: Onnx.DataType.FLOAT, dims: ["batch", 3, "height", "width"] })
        break
      }
      case "Conv2D": {
        const [kh, kw] = c.kernel_size as [number, number]
        const strides = c.strides as [number, number]
        const dilation = c.dilation_rate as [number, number]
        if (strides.some((s) => s !== 1) || dilation.some((d) => d !== 1) || (c.groups ?? 1) !== 1) {
          throw new Error(`Conv2D ${layer.name}: only stride 1, dilation 1, one group are supported`)
        }
        if (c.data_format !== "channels_last") throw new Error(`Conv2D ${layer.name}: expected channels_last`)
        if (c.padding === "same" && (kh % 2 === 0 || kw % 2 === 0)) {
          throw new Error(`Conv2D ${layer.name}: "same" padding with an even kernel is not supported`)
        }
        const pads = c.padding === "same" ? [(kh - 1) / 2, (kw - 1) / 2, (kh - 1) / 2, (kw - 1) / 2] : [0, 0, 0, 0]
        const kernel = weight(`${layer.name}/kernel`)
        const oihw = transpose4(kernel.data, kernel.shape, [3, 2, 0, 1])
        initializers.push(floatInit(`${layer.name}/kernel`, oihw.data, oihw.dims))
        const conv = [from[0]!, `${layer.name}/kernel`]
        if (c.use_bias === true) {
          const bias = weight(`${layer.name}/bias`)
          initializers.push(floatInit(`${layer.name}/bias`, bias.data, bias.shape))
          conv.push(`${layer.name}/bias`)
        }
        const activation = c.activation as string
        if (activation !== "linear" && activation !== "relu") {
          throw new Error(`Conv2D ${layer.name}: activation ${activation} is not supported`)
        }
        const out = activation === "relu" ? `${layer.name}/linear` : layer.name
        nodes.push({
          op: "Conv",
          name: layer.name,
          inputs: conv,
          outputs: [out],
          attributes: [{ name: "kernel_shape", ints: [kh, kw] }, { name: "pads", ints: pads }]
        })
        if (activation === "relu") {
          nodes.push({ op: "Relu", name: `${layer.name}/relu`, inputs: [out], outputs: [layer.name] })
        }
        break
      }
      case "Activation": {
        if (c.activation !== "relu") {
          throw new Error(`Activation ${layer.name}: ${String(c.activation)} is not supported`)
        }
        nodes.push({ op: "Relu", name: layer.name, inputs: from, outputs: [layer.name] })
        break
      }
      case "Concatenate": {
        if (c.axis !== 3 && c.axis !== -1) throw new Error(`Concatenate ${layer.name}: only the channel axis`)
        nodes.push({
          op: "Concat",
          name: layer.name,
          inputs: from,
          outputs: [layer.name],
          attributes: [{ name: "axis", int: 1 }]
        })
        break
      }
      case "Add": {
        // Pairwise: a + b, then + c...
        let sum = from[0]!
        for (let i = 1; i < from.length; i++) {
          const out = i === from.length - 1 ? layer.name : `${layer.name}/${i}`
          nodes.push({ op: "Add", name: out, inputs: [sum, from[i]!], outputs: [out] })
          sum = out
        }
        break
      }
      case "UpSampling2D": {
        const size = (c.size as [number, number] | undefined) ?? [2, 2]
        if ((c.interpolation ?? "nearest") !== "nearest") throw new Error(`UpSampling2D ${layer.name}: nearest only`)
        initializers.push(floatInit(`${layer.name}/scales`, Float32Array.from([1, 1, size[0], size[1]]), [4]))
        nodes.push({
          op: "Resize",
          name: layer.name,
          inputs: [from[0]!, "", `${layer.name}/scales`],
          outputs: [layer.name],
          attributes: [
            { name: "mode", string: "nearest" },
            { name: "coordinate_transformation_mode", string: "asymmetric" },
            { name: "nearest_mode", string: "floor" }
          ]
        })
        break
      }
      default:
        throw new Error(`layer ${layer.name}: ${layer.class_name} is not supported`)
    }
  }
  const outputs = config.output_layers.map(([layer]) => ({
    name: layer,
    type: Onnx.DataType.FLOAT,
    dims: ["batch", 3, "out_height", "out_width"]
  }))
  return { name, nodes, initializers, inputs, outputs }
}
