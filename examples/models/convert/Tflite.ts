/**
 * A reader for TensorFlow Lite model files (a FlatBuffer, schema.fbs of TensorFlow Lite): the subgraph's tensors,
 * operators with their options, and the constant buffers. Only what a converter needs; nothing is interpreted here.
 */

/** A FlatBuffer table: reads its fields by slot number (the field's order in the schema). */
class Table {
  constructor(readonly view: DataView, readonly pos: number) {}

  private field(slot: number): number {
    const vtable = this.pos - this.view.getInt32(this.pos, true)
    const size = this.view.getUint16(vtable, true)
    const at = 4 + slot * 2
    if (at >= size) return 0
    const offset = this.view.getUint16(vtable + at, true)
    return offset === 0 ? 0 : this.pos + offset
  }

  has(slot: number): boolean {
    return this.field(slot) !== 0
  }
  int32(slot: number, fallback = 0): number {
    const at = this.field(slot)
    return at === 0 ? fallback : this.view.getInt32(at, true)
  }
  uint32(slot: number, fallback = 0): number {
    const at = this.field(slot)
    return at === 0 ? fallback : this.view.getUint32(at, true)
  }
  int8(slot: number, fallback = 0): number {
    const at = this.field(slot)
    return at === 0 ? fallback : this.view.getInt8(at)
  }
  uint8(slot: number, fallback = 0): number {
    const at = this.field(slot)
    return at === 0 ? fallback : this.view.getUint8(at)
  }
  bool(slot: number): boolean {
    return this.uint8(slot) !== 0
  }
  private indirect(at: number): number {
    return at + this.view.getUint32(at, true)
  }
  table(slot: number): Table | undefined {
    const at = this.field(slot)
    return at === 0 ? undefined : new Table(this.view, this.indirect(at))
  }
  /** A vector's element count and the position of its first element. */
  private vector(slot: number): { readonly length: number; readonly start: number } {
    const at = this.field(slot)
    if (at === 0) return { length: 0, start: 0 }
    const vec = this.indirect(at)
    return { length: this.view.getUint32(vec, true), start: vec + 4 }
  }
  string(slot: number): string {
    const { length, start } = this.vector(slot)
    return new TextDecoder().decode(new Uint8Array(this.view.buffer, this.view.byteOffset + start, length))
  }
  bytes(slot: number): Uint8Array {
    const { length, start } = this.vector(slot)
    return new Uint8Array(this.view.buffer, this.view.byteOffset + start, length)
  }
  int32s(slot: number): Array<number> {
    const { length, start } = this.vector(slot)
    return Array.from({ length }, (_, i) => this.view.getInt32(start + i * 4, true))
  }
  tables(slot: number): Array<Table> {
    const { length, start } = this.vector(slot)
    return Array.from({ length }, (_, i) => new Table(this.view, this.indirect(start + i * 4)))
  }
}

/** TensorFlow Lite's tensor element types (the ones a float model uses). */
export const TensorType = { FLOAT32: 0, FLOAT16: 1, INT32: 2, UINT8: 3, INT64: 4 } as const

export interface Tensor {
  readonly index: number
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly type: number
  /** The constant data (weights), or undefined for an activation. */
  readonly data: Uint8Array | undefined
}

export interface Operator {
  /** The builtin operator's name (`CONV_2D`), or the custom op's code (`Convolution2DTransposeBias`). */
  readonly op: string
  readonly inputs: ReadonlyArray<number>
  readonly outputs: ReadonlyArray<number>
  /** The builtin options table (read by slot with the option readers below), if any. */
  readonly options: Table | undefined
  /** A custom op's raw options. */
  readonly customOptions: Uint8Array
}

export interface Model {
  readonly description: string
  readonly tensors: ReadonlyArray<Tensor>
  readonly inputs: ReadonlyArray<number>
  readonly outputs: ReadonlyArray<number>
  readonly operators: ReadonlyArray<Operator>
}

/** The builtin operators by code (schema.fbs's BuiltinOperator), as far as image networks use them. */
const builtins: Record<number, string> = {
  0: "ADD",
  1: "AVERAGE_POOL_2D",
  2: "CONCATENATION",
  3: "CONV_2D",
  4: "DEPTHWISE_CONV_2D",
  6: "DEQUANTIZE",
  9: "FULLY_CONNECTED",
  14: "LOGISTIC",
  17: "MAX_POOL_2D",
  18: "MUL",
  19: "RELU",
  21: "RELU6",
  22: "RESHAPE",
  23: "RESIZE_BILINEAR",
  25: "SOFTMAX",
  28: "TANH",
  34: "PAD",
  40: "MEAN",
  41: "SUB",
  117: "HARD_SWISH"
}

/** Reads a `.tflite` file's first subgraph. */
export const read = (file: Uint8Array): Model => {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const model = new Table(view, view.getUint32(0, true))
  const codes = model.tables(1).map((code) => {
    const builtin = Math.max(code.int8(0), code.int32(3))
    return builtin === 32 ? code.string(1) : (builtins[builtin] ?? `BUILTIN_${builtin}`)
  })
  const buffers = model.tables(4).map((buffer) => buffer.bytes(0))
  const [graph] = model.tables(2)
  if (graph === undefined) throw new Error("the model has no subgraph")
  const tensors = graph.tables(0).map((tensor, index): Tensor => {
    const data = buffers[tensor.uint32(2)]
    return {
      index,
      name: tensor.string(3),
      shape: tensor.int32s(0),
      type: tensor.int8(1),
      data: data !== undefined && data.length > 0 ? data : undefined
    }
  })
  const operators = graph.tables(3).map((op): Operator => ({
    op: codes[op.uint32(0)] ?? "UNKNOWN",
    inputs: op.int32s(1),
    outputs: op.int32s(2),
    options: op.table(4),
    customOptions: op.bytes(5)
  }))
  return {
    description: model.string(3),
    tensors,
    inputs: graph.int32s(1),
    outputs: graph.int32s(2),
    operators
  }
}

export { Table }
