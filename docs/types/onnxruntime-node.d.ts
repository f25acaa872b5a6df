/**
 * The part of onnxruntime-node's API that docs/connecting-a-real-model.md uses, so `npm run docs:check` compiles the
 * guide without installing the package (~100 MB of native libraries). Mirrors onnxruntime-common's declarations.
 */
declare module "onnxruntime-node" {
  export type TensorType = "float32" | "float16" | "int64" | "int32" | "uint8" | "bool"
  export class Tensor {
    constructor(
      type: TensorType,
      data: Float32Array | Uint8Array | Int32Array | BigInt64Array,
      dims: ReadonlyArray<number>
    )
    readonly type: TensorType
    readonly dims: ReadonlyArray<number>
    readonly data: Float32Array | Uint8Array | Int32Array | BigInt64Array
  }
  export namespace InferenceSession {
    interface SessionOptions {
      executionProviders?: ReadonlyArray<"cpu" | "cuda" | "dml" | "coreml" | "webgpu">
      intraOpNumThreads?: number
      graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all"
    }
    type FeedsType = Record<string, Tensor>
    type ReturnType = Record<string, Tensor>
  }
  export interface InferenceSession {
    readonly inputNames: ReadonlyArray<string>
    readonly outputNames: ReadonlyArray<string>
    run(feeds: InferenceSession.FeedsType): Promise<InferenceSession.ReturnType>
    release(): Promise<void>
  }
  export const InferenceSession: {
    create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>
  }
}
