/**
 * The official SDK's own zod schemas, taken from its published bundle (`@reactor-team/js-sdk` 2.9.0 does not export
 * them): the block of `src/core/types.ts` is cut out of `dist/index.mjs` and evaluated with the SDK's own zod, so a
 * test parses our answers exactly as the SDK does. If the bundle's layout changes, this throws instead of passing.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const require = createRequire(import.meta.url)

/** A zod schema as far as the tests need it. */
export interface ZodLike {
  readonly parse: (value: unknown) => unknown
  readonly safeParse: (value: unknown) => { readonly success: boolean; readonly error?: { readonly message: string } }
}

const names = [
  "SessionResponseSchema",
  "CreateSessionResponseSchema",
  "SessionInfoResponseSchema",
  "CapabilitiesSchema",
  "IceServersResponseSchema",
  "WebRTCSdpOfferRequestSchema",
  "WebRTCSdpAnswerResponseSchema",
  "TrackCapabilitySchema"
] as const

/** The SDK's schemas by name. */
export type Schemas = { readonly [K in (typeof names)[number]]: ZodLike }

const load = (): Schemas => {
  // the package exports only its entry points: find its root from the CommonJS entry (dist/index.js)
  const root = dirname(dirname(require.resolve("@reactor-team/js-sdk")))
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }
  if (pkg.version !== "2.9.0") throw new Error(`expected @reactor-team/js-sdk 2.9.0, found ${pkg.version}`)
  const bundle = readFileSync(join(root, "dist", "index.mjs"), "utf8")
  const start = bundle.indexOf("var ClientInfoSchema = z.object(")
  const end = bundle.indexOf("// src/core/CoordinatorClient.ts")
  if (start < 0 || end < start) throw new Error("the SDK bundle no longer has its schema block where expected")
  const block = bundle.slice(start, end)
  const evaluate = new Function("z", `${block}\nreturn { ${names.join(", ")} }`) as (z: unknown) => Schemas
  // zod as the SDK itself resolves it (its own dependency, not ours)
  const zod = createRequire(join(root, "dist", "index.js"))("zod") as { z: unknown }
  return evaluate(zod.z)
}

/** The schemas, loaded once. */
export const schemas: Schemas = load()

/** Parses `value` with one of the SDK's schemas and returns the zod error message, or `undefined` when it passes. */
export const rejects = (name: keyof Schemas, value: unknown): string | undefined => {
  const result = schemas[name].safeParse(value)
  return result.success ? undefined : result.error?.message ?? "rejected"
}
