#!/usr/bin/env -S node --max-semi-space-size=32
// The `reactor` command: registers tsx's ESM loader so model modules can be TypeScript, then starts the CLI.
//
// Installed from the registry, the CLI is the compiled dist/; the installed effect is checked first, before anything
// imports it (a wrong major otherwise dies on a missing export that names neither package). In a checkout of the
// repository (src/ present) the CLI runs from source through tsx, with the repository's tsconfig, whose `paths` map
// `effect-reactor` to src/ too: `npm start` and the examples need no build, and nothing runs a stale dist/.
//
// `--max-semi-space-size=32` (MiB) doubles V8's young generation: a serving process allocates per frame and per
// command, and with the default 16 MiB it ran a stop-the-world scavenge of 2-7 ms every few hundred commands or every
// ~50 ms at 200 sessions (see BENCHMARKS.md, "GC"). Heap flags cannot be changed once Node has started, so the shebang
// passes it when the file is executed (`npx reactor`, `./bin/reactor.mjs`, an installed `reactor`) and `npm start`
// passes it explicitly; `node bin/reactor.mjs` runs with whatever flags it was given.
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const checkout = existsSync(new URL("../src/cli/main.ts", import.meta.url))
if (!checkout) (await import("../dist/EffectVersion.js")).ensure()
const { register } = await import("tsx/esm/api")
// The big plain-JavaScript dependencies are loaded before the loader is registered: they are cached as they are,
// and do not pay the loader's per-module cost (it makes `effect` alone load ~4x slower).
await Promise.all([
  import("effect"),
  import("@effect/cli"),
  import("@effect/rpc"),
  import("@effect/platform-node/NodeContext"),
  import("@effect/platform-node/NodeRuntime")
])
if (checkout) {
  register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) })
  await import("../src/cli/main.ts")
} else {
  register()
  await import("../dist/cli/main.js")
}
