/**
 * effect-reactor/client: drive a running effect-reactor server from TypeScript with the model's own command
 * declarations, typed end to end (`@effect/rpc`, msgpack over WebSocket).
 */
export * as Client from "../protocol/RpcContract.js"
export * as ReactorClient from "./ReactorClient.js"
