/**
 * effect-reactor/server: start the HTTP + WebSocket runtime in-process (tests, benchmarks, embedding).
 */
export * as ServerConfig from "../config/ServerConfig.js"
export * as WebRtcConfig from "../config/WebRtcConfig.js"
export * as FrameHeader from "../protocol/FrameHeader.js"
export * as FrameCodec from "../transport/FrameCodec.js"
export * as Server from "./Server.js"
