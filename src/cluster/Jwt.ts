/**
 * JSON Web Tokens signed with HS256, as the coordinator checks the SDK's bearer token: the header must say `HS256`,
 * the signature must match the secret (compared in constant time), and `exp`/`nbf` (seconds) must hold now. `sign`
 * makes one (tests, operators minting tokens for their apps).
 */
import { createHmac, timingSafeEqual } from "node:crypto"

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url")

/** Signs claims with HS256. */
export const sign = (claims: Record<string, unknown>, secret: string): string => {
  const head = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))
  const body = base64url(JSON.stringify(claims))
  const signature = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url")
  return `${head}.${body}.${signature}`
}

const decodePart = (part: string): unknown => {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"))
  } catch {
    return undefined
  }
}

/** The claims of a valid token, or why it is not valid (a sentence for the client). */
export const verify = (
  token: string,
  secret: string,
  nowSeconds: number = Date.now() / 1000
): { readonly claims: Record<string, unknown> } | { readonly error: string } => {
  const parts = token.split(".")
  if (parts.length !== 3) return { error: "the token is not a JWT (three dot-separated parts)" }
  const [head, body, signature] = parts as [string, string, string]
  const header = decodePart(head) as { alg?: unknown } | undefined
  if (typeof header !== "object" || header === null) return { error: "the token's header is not JSON" }
  if (header.alg !== "HS256") {
    return { error: `the token is signed with ${String(header.alg)}; this coordinator takes HS256` }
  }
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest()
  const given = Buffer.from(signature, "base64url")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { error: "the token's signature does not match" }
  }
  const claims = decodePart(body)
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    return { error: "the token's claims are not a JSON object" }
  }
  const { exp, nbf } = claims as { exp?: unknown; nbf?: unknown }
  if (exp !== undefined && (typeof exp !== "number" || exp <= nowSeconds)) return { error: "the token has expired" }
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > nowSeconds)) return { error: "the token is not valid yet" }
  return { claims: claims as Record<string, unknown> }
}
