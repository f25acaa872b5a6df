/**
 * effect-reactor/testing: test a model without a network. `ModelTest` runs it in-process and drives a session;
 * `CommandArbitrary` generates valid and invalid commands from its command group for property tests.
 */
export * as CommandArbitrary from "./CommandArbitrary.js"
export * as ModelTest from "./ModelTest.js"
