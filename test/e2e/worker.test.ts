/**
 * The server's end-to-end suites and the WebRTC transport's suite again, with the fixture model in a worker thread
 * (`reactor run`'s default): the transports cannot tell a session in a model host from one in their own thread.
 */
process.env.REACTOR_TEST_ISOLATION = "worker"
await import("./transports.test.js")
await import("./websocket.test.js")
await import("./webrtc.test.js")
await import("./end-answers.test.js")
