/**
 * effect-reactor: serve a real-time generative model live. Model authors import from here.
 */
export * as Batch from "./model/Batch.js"
export * as Capabilities from "./model/Capabilities.js"
export * as Command from "./model/Command.js"
export * as Frame from "./model/Frame.js"
export * as Input from "./model/Input.js"
export * as Model from "./model/Model.js"
export * as Output from "./model/Output.js"
export * as Param from "./model/Param.js"
export * as Ctx from "./model/SessionContext.js"
export { SessionContext } from "./model/SessionContext.js"
export * as State from "./model/State.js"
export * as CommandError from "./protocol/CommandError.js"
export * as EndReason from "./protocol/EndReason.js"
export * as Reactor from "./session/Reactor.js"
export * as Session from "./session/Session.js"
