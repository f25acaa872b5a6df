/**
 * CORS: which browser origins may call the server (the headers themselves come from `HttpMiddleware.cors`). Same origin, `http://localhost:*` and `http://127.0.0.1:*` are
 * allowed by default; `ServerConfig.cors` adds origins (`*` = any).
 */

const loopback = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i

/** Whether a request's `Origin` may use the server. No `Origin` (not a browser, or same-origin GET) is allowed. */
export const allowed = (
  origin: string | undefined,
  host: string | undefined,
  extra: ReadonlyArray<string>
): boolean => {
  if (origin === undefined) return true
  if (extra.includes("*") || extra.includes(origin)) return true
  if (loopback.test(origin)) return true
  if (host !== undefined) {
    try {
      return new URL(origin).host === host
    } catch {
      return false
    }
  }
  return false
}

/** The request headers Reactor's clients send cross-origin (a preflight must allow them). */
export const allowHeaders = [
  "Authorization",
  "Content-Type",
  "Reactor-API-Version",
  "Reactor-API-Accept-Version",
  "Reactor-WebRTC-Version"
]
