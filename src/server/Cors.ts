/**
 * CORS: which browser origins may call the server. Same origin, `http://localhost:*` and `http://127.0.0.1:*` are
 * allowed by default; `ServerConfig.cors` adds origins (`*` = any).
 */

const loopback = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/i

/** Whether a request's `Origin` may use the server. No `Origin` (not a browser, or same-origin GET) is allowed. */
export const allowed = (origin: string | undefined, host: string | undefined, extra: ReadonlyArray<string>): boolean => {
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

export const allowHeaders = [
  "Authorization",
  "Content-Type",
  "Reactor-API-Version",
  "Reactor-API-Accept-Version",
  "Reactor-WebRTC-Version"
].join(", ")

/** The CORS headers of an answer to an allowed origin. */
export const headers = (origin: string): Record<string, string> => ({
  "access-control-allow-origin": origin,
  "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
  "access-control-allow-headers": allowHeaders,
  "access-control-max-age": "600",
  vary: "Origin"
})
