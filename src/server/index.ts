/**
 * effect-reactor/server: start the HTTP + WebSocket runtime in-process (tests, benchmarks, embedding).
 */
export * as FrameCodec from "../protocol/FrameCodec.js"
export * as Server from "./Server.js"
export * as ServerConfig from "./ServerConfig.js"
