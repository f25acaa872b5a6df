/**
 * Converts a float TensorFlow Lite image network to ONNX: NHWC activations become NCHW, weights are transposed and
 * widened to float32 (fp16 weights behind DEQUANTIZE become plain initializers), and the batch dimension is left free
 * so that one call can run several pictures. Only the operators of MediaPipe's selfie segmentation network are known
 * (convolutions, depthwise convolutions, MediaPipe's transposed convolution, global pooling, bilinear upsampling and
 * element-wise ops); any other one is refused by name.
 */
import * as Onnx from "./Onnx.js"
import * as Tflite from "./Tflite.js"

/** IEEE half-precision floats (little-endian bytes) as float32. */
export const fromFloat16 = (bytes: Uint8Array): Float32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(bytes.byteLength / 2)
  for (let i = 0; i < out.length; i++) {
    const h = view.getUint16(i * 2, true)
    const sign = h & 0x8000 ? -1 : 1
    const exponent = (h >> 10) & 0x1f
    const fraction = h & 0x3ff
    out[i] = exponent === 0
      ? sign * (fraction / 1024) * 2 ** -14
      : exponent === 31
      ? (fraction === 0 ? sign * Infinity : NaN)
      : sign * (1 + fraction / 1024) * 2 ** (exponent - 15)
  }
  return out
}

/** A 4-D array's elements reordered: `out` axis i is `data` axis `perm[i]`. */
export const transpose4 = (data: Float32Array, shape: ReadonlyArray<number>, perm: ReadonlyArray<number>) => {
  const dims = perm.map((p) => shape[p]!)
  const strides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1]
  const s = perm.map((p) => strides[p]!)
  const out = new Float32Array(data.length)
  let o = 0
  for (let a = 0; a < dims[0]!; a++) {
    for (let b = 0; b < dims[1]!; b++) {
      for (let c = 0; c < dims[2]!; c++) {
        for (let d = 0; d < dims[3]!; d++) out[o++] = data[a * s[0]! + b * s[1]! + c * s[2]! + d * s[3]!]!
      }
    }
  }
  return { data: out, dims }
}

/** TensorFlow's padding (SAME or VALID) as ONNX's explicit pads, for one spatial axis. */
const padsFor = (same: boolean, input: number, kernel: number, stride: number, dilation: number) => {
  if (!same) return [0, 0] as const
  const out = Math.ceil(input / stride)
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - input, 0)
  return [Math.floor(total / 2), total - Math.floor(total / 2)] as const
}

const floatInit = (name: string, data: Float32Array, dims: ReadonlyArray<number>): Onnx.Initializer => ({
  name,
  dims,
  type: Onnx.DataType.FLOAT,
  raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
})

/** TensorFlow Lite's fused activations (ActivationFunctionType) that have an ONNX node. */
const fusedActivations: Record<number, string> = { 1: "Relu", 3: "Relu6" }

/** NHWC dims of a TensorFlow Lite activation as ONNX NCHW dims, the batch left free. */
const nchw = (shape: ReadonlyArray<number>): Array<number | string> => {
  if (shape.length !== 4) throw new Error(`expected a 4-D activation, got [${shape.join(", ")}]`)
  return ["batch", shape[3]!, shape[1]!, shape[2]!]
}

/** Converts a TensorFlow Lite model (its first subgraph) to an ONNX graph. */
export const convert = (model: Tflite.Model, name: string): Onnx.Graph => {
  const { tensors } = model
  const nodes: Array<Onnx.Node> = []
  const initializers: Array<Onnx.Initializer> = []
  /** Constant tensors (weights) as float32, in TensorFlow Lite's layout. */
  const constants = new Map<number, Float32Array>()
  const constant = (index: number): Float32Array => {
    const known = constants.get(index)
    if (known !== undefined) return known
    const tensor = tensors[index]!
    if (tensor.data === undefined || tensor.type !== Tflite.TensorType.FLOAT32) {
      throw new Error(`tensor "${tensor.name}" is not a float constant`)
    }
    return new Float32Array(tensor.data.slice().buffer)
  }
  const nameOf = (index: number) => tensors[index]!.name
  const shapeOf = (index: number) => tensors[index]!.shape
  let counter = 0
  /** Appends a node; a fused activation becomes a node after it. */
  const emit = (
    op: string,
    inputs: Array<string>,
    output: number,
    attributes: Array<Onnx.Attribute>,
    activation = 0
  ) => {
    const out = nameOf(output)
    const fused = activation === 0 ? undefined : fusedActivations[activation]
    if (activation !== 0 && fused === undefined) throw new Error(`fused activation ${activation} is not supported`)
    const first = fused === undefined ? out : `${out}/pre_activation`
    nodes.push({ op, inputs, outputs: [first], name: `${op}_${counter++}`, attributes })
    if (fused === "Relu") nodes.push({ op: "Relu", inputs: [first], outputs: [out], name: `Relu_${counter++}` })
    if (fused === "Relu6") {
      initializers.push(
        floatInit(`${out}/min`, new Float32Array([0]), []),
        floatInit(`${out}/max`, new Float32Array([6]), [])
      )
      nodes.push({ op: "Clip", inputs: [first, `${out}/min`, `${out}/max`], outputs: [out], name: `Clip_${counter++}` })
    }
  }
  const weight = (index: number, perm: ReadonlyArray<number>, reshape?: (dims: Array<number>) => Array<number>) => {
    const { data, dims } = transpose4(constant(index), shapeOf(index), perm)
    initializers.push(floatInit(nameOf(index), data, reshape ? reshape(dims) : dims))
    return nameOf(index)
  }
  const bias = (index: number | undefined) => {
    if (index === undefined || index < 0) return []
    initializers.push(floatInit(nameOf(index), constant(index), shapeOf(index)))
    return [nameOf(index)]
  }

  for (const op of model.operators) {
    const [input, w, b] = op.inputs
    const [output] = op.outputs
    if (input === undefined || output === undefined) throw new Error(`${op.op} without input or output`)
    const o = op.options
    switch (op.op) {
      case "DEQUANTIZE": {
        const source = tensors[input]!
        if (source.type !== Tflite.TensorType.FLOAT16 || source.data === undefined) {
          throw new Error(`DEQUANTIZE of "${source.name}": only constant float16 weights are supported`)
        }
        constants.set(output, fromFloat16(source.data))
        break
      }
      case "CONV_2D":
      case "DEPTHWISE_CONV_2D": {
        const depthwise = op.op === "DEPTHWISE_CONV_2D"
        // Conv2DOptions: padding 0, stride_w 1, stride_h 2, activation 3, dilation_w 4, dilation_h 5.
        // DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2, depth_multiplier 3, activation 4, dilations 5, 6.
        const same = o?.int8(0) === 0
        const [sw, sh] = [o?.int32(1, 1) ?? 1, o?.int32(2, 1) ?? 1]
        const activation = o?.int8(depthwise ? 4 : 3) ?? 0
        const [dw, dh] = depthwise
          ? [o?.int32(5, 1) ?? 1, o?.int32(6, 1) ?? 1]
          : [o?.int32(4, 1) ?? 1, o?.int32(5, 1) ?? 1]
        const kernel = shapeOf(w!)
        const [kh, kw] = [kernel[1]!, kernel[2]!]
        const inShape = shapeOf(input)
        const [ph, pw] = [padsFor(same, inShape[1]!, kh, sh, dh), padsFor(same, inShape[2]!, kw, sw, dw)]
        // Weights: conv OHWI -> OIHW; depthwise [1, H, W, C*m] -> [C*m, 1, H, W], one group per input channel.
        const wName = weight(w!, depthwise ? [3, 0, 1, 2] : [0, 3, 1, 2])
        const attributes: Array<Onnx.Attribute> = [
          { name: "kernel_shape", ints: [kh, kw] },
          { name: "strides", ints: [sh, sw] },
          { name: "dilations", ints: [dh, dw] },
          { name: "pads", ints: [ph[0], pw[0], ph[1], pw[1]] }
        ]
        if (depthwise) attributes.push({ name: "group", int: inShape[3]! })
        emit("Conv", [nameOf(input), wName, ...bias(b)], output, attributes, activation)
        break
      }
      case "Convolution2DTransposeBias": {
        // MediaPipe's custom op: TfLiteTransposeConvParams {padding (1 SAME, 2 VALID), stride_w, stride_h} as int32s.
        const params = new DataView(op.customOptions.buffer, op.customOptions.byteOffset, op.customOptions.byteLength)
        const [padding, sw, sh] = [params.getInt32(0, true), params.getInt32(4, true), params.getInt32(8, true)]
        const kernel = shapeOf(w!)
        const [kh, kw] = [kernel[1]!, kernel[2]!]
        const [inShape, outShape] = [shapeOf(input), shapeOf(output)]
        // The output size is the file's; TensorFlow's transposed padding takes what exceeds it, the extra at the end.
        const pad = (i: number, k: number, s: number, out: number) => {
          const total = Math.max((i - 1) * s + k - out, 0)
          return padding === 1 ? [Math.floor(total / 2), total - Math.floor(total / 2)] : [0, total]
        }
        const [ph, pw] = [pad(inShape[1]!, kh, sh, outShape[1]!), pad(inShape[2]!, kw, sw, outShape[2]!)]
        // Weights OHWI -> IOHW.
        emit("ConvTranspose", [nameOf(input), weight(w!, [3, 0, 1, 2]), ...bias(b)], output, [
          { name: "kernel_shape", ints: [kh, kw] },
          { name: "strides", ints: [sh, sw] },
          { name: "pads", ints: [ph[0]!, pw[0]!, ph[1]!, pw[1]!] }
        ])
        break
      }
      case "AVERAGE_POOL_2D": {
        // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_width 3, filter_height 4, activation 5.
        const [inShape, outShape] = [shapeOf(input), shapeOf(output)]
        const [fw, fh] = [o?.int32(3) ?? 0, o?.int32(4) ?? 0]
        if (fh !== inShape[1] || fw !== inShape[2] || outShape[1] !== 1 || outShape[2] !== 1) {
          throw new Error(`AVERAGE_POOL_2D "${nameOf(output)}": only global pooling is supported`)
        }
        emit("GlobalAveragePool", [nameOf(input)], output, [], o?.int8(5) ?? 0)
        break
      }
      case "ADD":
      case "MUL": {
        // AddOptions / MulOptions: activation 0. Both operands are 4-D activations here (broadcast over H and W).
        for (const i of op.inputs) nchw(shapeOf(i))
        emit(op.op === "ADD" ? "Add" : "Mul", op.inputs.map(nameOf), output, [], o?.int8(0) ?? 0)
        break
      }
      case "RESIZE_BILINEAR": {
        // ResizeBilinearOptions: align_corners 2, half_pixel_centers 3.
        const mode = o?.bool(2) ? "align_corners" : o?.bool(3) ? "half_pixel" : "asymmetric"
        const [inShape, outShape] = [shapeOf(input), shapeOf(output)]
        const scales = `${nameOf(output)}/scales`
        initializers.push(
          floatInit(scales, new Float32Array([1, 1, outShape[1]! / inShape[1]!, outShape[2]! / inShape[2]!]), [4])
        )
        emit("Resize", [nameOf(input), "", scales], output, [
          { name: "mode", string: "linear" },
          { name: "coordinate_transformation_mode", string: mode }
        ])
        break
      }
      case "HARD_SWISH":
        emit("HardSwish", [nameOf(input)], output, [])
        break
      case "RELU":
        emit("Relu", [nameOf(input)], output, [])
        break
      case "LOGISTIC":
        emit("Sigmoid", [nameOf(input)], output, [])
        break
      default:
        throw new Error(`operator ${op.op} is not supported by this converter`)
    }
  }
  const io = (index: number): Onnx.Value => ({
    name: nameOf(index),
    type: Onnx.DataType.FLOAT,
    dims: nchw(shapeOf(index))
  })
  return { name, nodes, initializers, inputs: model.inputs.map(io), outputs: model.outputs.map(io) }
}
