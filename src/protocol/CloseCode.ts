/**
 * The WebSocket close codes the runtime ends a connection with (RFC 6455's 1000/1001, and 4xxx codes of its own that
 * mirror the HTTP statuses they mean; `ws` itself closes with 1009 for a message over `maxPayloadBytes`). See docs/PROTOCOL.md, "Close codes".
 */

/** The session ended. */
export const normal = 1000
/** The server or the transport is shutting down. */
export const shutdown = 1001
/** The server failed to go on reading the connection (a bug, logged): the session is orphaned and can be resumed. */
export const internalError = 1011
/** The upgrade request was malformed. */
export const invalidRequest = 4400
/** The token was missing or wrong. */
export const unauthorized = 4401
/** No such session. */
export const sessionNotFound = 4404
/** Nothing was heard from the client for the idle timeout. */
export const idle = 4408
/** A newer connection to the session took over. */
export const replaced = 4409
/** The session already has as many watchers as it takes. */
export const tooManyViewers = 4503
/** The client did not read what was sent to it. */
export const tooSlow = 4429
