/**
 * The installed `effect` must be the Effect 3 line this package is built on. A project that installs effect 4 (the
 * registry's `latest`) next to it would otherwise fail deep inside a module with an error that names neither package,
 * so the published entry points check first and stop with one line. This module imports nothing from effect.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

/** The effect range this package peers on, as `package.json` declares it. */
export const requiredRange = (): string => {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    readonly peerDependencies?: Readonly<Record<string, string>>
  }
  return manifest.peerDependencies?.effect ?? "^3.0.0"
}

const parse = (version: string) => {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(version)
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])] as const
}

/**
 * What is wrong with the installed effect, in one line, or `undefined` when `found` satisfies `range` (a caret range,
 * `^3.22.2`: the same major, at least that version).
 */
export const problem = (found: string | undefined, range: string, where = "effect"): string | undefined => {
  const wanted = parse(range)
  const install = `install a 3.x release: npm install effect@"${range}"`
  if (found === undefined) {
    return `effect-reactor: needs effect ${range} (a peer dependency) but effect is not installed; ${install}`
  }
  const have = parse(found)
  if (wanted === undefined || have === undefined) return undefined
  const [major, minor, patch] = wanted
  const [hMajor, hMinor, hPatch] = have
  const tooOld = hMinor < minor || (hMinor === minor && hPatch < patch)
  if (hMajor === major && !tooOld) return undefined
  const line = hMajor === major ? `${major}.${minor}.${patch} or later` : `effect ${major} (${range})`
  return `effect-reactor: needs ${line} but found effect ${found} at ${where}; ${install}`
}

/** The version and location of the effect that `import "effect"` loads from this package. */
export const installed = (): { readonly version: string; readonly where: string } | undefined => {
  try {
    const require = createRequire(import.meta.url)
    const file = require.resolve("effect/package.json")
    const { version } = JSON.parse(readFileSync(file, "utf8")) as { readonly version: string }
    return { version, where: file.replace(/[\\/]package\.json$/, "") }
  } catch {
    return undefined
  }
}

/** Stops the process with one line on stderr when the installed effect does not fit; run before effect is loaded. */
export const ensure = (): void => {
  const found = installed()
  const message = problem(found?.version, requiredRange(), found?.where)
  if (message === undefined) return
  process.stderr.write(`${message}\n`)
  process.exit(1)
}
