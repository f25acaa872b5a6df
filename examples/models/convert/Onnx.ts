/**
 * A writer for ONNX model files (a Protocol Buffers message, onnx.proto3): nodes, float initializers, typed inputs and
 * outputs. Only the fields a converted image network needs.
 */

/** Protocol Buffers wire encoding, appended to one growing byte list. */
class Writer {
  private readonly bytes: Array<number> = []

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value))
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    this.bytes.push(Number(v))
    return this
  }
  private key(field: number, wire: number): this {
    return this.varint((field << 3) | wire)
  }
  int(field: number, value: number): this {
    return this.key(field, 0).varint(value)
  }
  float(field: number, value: number): this {
    this.key(field, 5)
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, value, true)
    this.bytes.push(...b)
    return this
  }
  bytesField(field: number, value: Uint8Array): this {
    this.key(field, 2).varint(value.length)
    for (const byte of value) this.bytes.push(byte)
    return this
  }
  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value))
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer()
    build(inner)
    return this.bytesField(field, inner.finish())
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes)
  }
}

/** ONNX element types used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const

export type Attribute =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly ints: ReadonlyArray<number> }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly string: string }

export interface Node {
  readonly op: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly name: string
  readonly attributes?: ReadonlyArray<Attribute>
}

export interface Initializer {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly type: number
  /** Little-endian raw data (Float32Array's or BigInt64Array's bytes). */
  readonly raw: Uint8Array
}

/** A graph input or output: its name, element type, and dims (a string names a free dimension, e.g. `"batch"`). */
export interface Value {
  readonly name: string
  readonly type: number
  readonly dims: ReadonlyArray<number | string>
}

export interface Graph {
  readonly name: string
  readonly nodes: ReadonlyArray<Node>
  readonly initializers: ReadonlyArray<Initializer>
  readonly inputs: ReadonlyArray<Value>
  readonly outputs: ReadonlyArray<Value>
}

const attribute = (w: Writer, a: Attribute) => {
  w.string(1, a.name)
  // AttributeProto: f = 2, i = 3, s = 4, ints = 8, type = 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
  if ("int" in a) w.int(3, a.int).int(20, 2)
  else if ("float" in a) w.float(2, a.float).int(20, 1)
  else if ("string" in a) w.string(4, a.string).int(20, 3)
  else {
    for (const i of a.ints) w.int(8, i)
    w.int(20, 7)
  }
}

const value = (w: Writer, v: Value) => {
  w.string(1, v.name)
  // ValueInfoProto.type -> TypeProto.tensor_type -> { elem_type, shape { dim { dim_value | dim_param } } }
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type)
      tensor.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => typeof d === "string" ? dim.string(2, d) : dim.int(1, d))
      })
    }))
}

/** Encodes a model: ONNX IR version 8, the default domain at `opset`. */
export const encode = (graph: Graph, options: { readonly opset: number; readonly producer: string }): Uint8Array =>
  new Writer()
    .int(1, 8)
    .string(2, options.producer)
    .message(7, (g) => {
      for (const node of graph.nodes) {
        g.message(1, (n) => {
          for (const input of node.inputs) n.string(1, input)
          for (const output of node.outputs) n.string(2, output)
          n.string(3, node.name).string(4, node.op)
          for (const a of node.attributes ?? []) n.message(5, (w) => attribute(w, a))
        })
      }
      g.string(2, graph.name)
      for (const init of graph.initializers) {
        g.message(5, (t) => {
          for (const d of init.dims) t.int(1, d)
          t.int(2, init.type).string(8, init.name).bytesField(9, init.raw)
        })
      }
      for (const input of graph.inputs) g.message(11, (w) => value(w, input))
      for (const output of graph.outputs) g.message(12, (w) => value(w, output))
    })
    .message(8, (opset) => opset.string(1, "").int(2, options.opset))
    .finish()
