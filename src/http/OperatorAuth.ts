/**
 * The operator endpoints (`/events`, `/clips`): what an operator or a director reads about every session, not what a
 * viewer needs. With `operatorToken` set they take that token (`Authorization: Bearer <token>`, or `?token=` for an
 * `EventSource` or a `<video>`, which cannot send headers) and not the viewers' `token`; without it they take the
 * same `token` as every other endpoint (open in local mode).
 */
import type * as ServerConfig from "../config/ServerConfig.js"

/** Whether a path is an operator endpoint. */
export const isOperatorPath = (path: string): boolean =>
  path === "/events" || path === "/clips" || path.startsWith("/clips/")

/** The token a request to `path` must carry (`undefined`: none). */
export const tokenFor = (config: ServerConfig.ServerConfig, path: string): string | undefined =>
  isOperatorPath(path) ? config.operatorToken ?? config.token : config.token
