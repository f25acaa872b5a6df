/**
 * The runtime's HTTP API and WebSocket URL, as the page calls them. Page URL parameters: `?token=` (sent to the API
 * as a bearer token and to the WebSocket as `?token=`), `?format=jpeg|rgb` and `?quality=1..100` (for the WebSocket).
 */

const query = new URLSearchParams(location.search)
const token = query.get("token")
const format = query.get("format")
const quality = query.get("quality")

const headers = () => ({
  "Reactor-API-Version": "1",
  "Content-Type": "application/json",
  ...(token ? { Authorization: `Bearer ${token}` } : {})
})

/** Calls the API: `{status, body}`; never throws (a network failure is status 0). */
export async function api(method, path, body) {
  try {
    const res = await fetch(new URL(path, location.href), {
      method,
      headers: headers(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    let json = null
    try {
      json = await res.json()
    } catch {}
    return { status: res.status, body: json }
  } catch (error) {
    return { status: 0, body: { code: "network", message: String(error?.message ?? error) } }
  }
}

/** A failed answer in words: the runtime's message when it gave one. */
export const describe = (res) =>
  res.body?.message ?? (res.status === 0 ? "the server cannot be reached" : `HTTP ${res.status}`)

/** `sessions/{id}/{rest}`, relative to the page. */
export const sessionPath = (id, rest) => `sessions/${encodeURIComponent(id)}/${rest}`

/** The session's WebSocket URL with the page's token, format and quality. */
export function wsUrl(id) {
  const url = new URL(sessionPath(id, "transport/websocket"), location.href)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  if (token) url.searchParams.set("token", token)
  if (format) url.searchParams.set("format", format)
  if (quality) url.searchParams.set("quality", quality)
  return url.toString()
}
