/**
 * Small DOM and formatting helpers shared by the page's modules.
 */

/** The element with that id. */
export const byId = (id) => document.getElementById(id)

/** Creates an element: attributes (null/undefined skipped), then children (strings or nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value))
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

/** A slider step of about a hundredth of the range, rounded to 1, 2 or 5 times a power of ten. */
export function niceStep(range) {
  const raw = range / 100
  const pow = 10 ** Math.floor(Math.log10(raw))
  const m = raw / pow
  return pow * (m >= 5 ? 5 : m >= 2 ? 2 : 1)
}

/** A number with as many decimals as the step shows. */
export function formatNumber(value, step) {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))))
  return Number(value).toFixed(decimals)
}

export const fixed = (value, digits) => (typeof value === "number" ? value.toFixed(digits) : "–")

/** A long id cut to its first 8 characters. */
export const short = (id) => (id && id.length > 10 ? `${id.slice(0, 8)}…` : id)

/** The placeholder of a half-bounded number input. */
export const bounds = (spec) =>
  typeof spec.minimum === "number" ? `≥ ${spec.minimum}` : typeof spec.maximum === "number" ? `≤ ${spec.maximum}` : ""

/** How a `KeyboardEvent.key` is shown on a key cap. */
export const keyLabel = (key) =>
  ({ " ": "Space", ArrowUp: "↑", ArrowDown: "↓", ArrowLeft: "←", ArrowRight: "→" })[key] ??
    (key.length === 1 ? key.toUpperCase() : key)

/** `{direction: "up"}` as `direction=up`. */
export const summarize = (payload) =>
  Object.entries(payload ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ") ||
  "(no parameters)"
