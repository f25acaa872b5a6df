#!/usr/bin/env -S node --max-semi-space-size=32
// The `reactor` command: registers tsx's ESM loader so model modules and the CLI itself run as TypeScript, then
// starts src/cli/main.ts.
//
// `--max-semi-space-size=32` (MiB) doubles V8's young generation: a serving process allocates per frame and per
// command, and with the default 16 MiB it ran a stop-the-world scavenge of 2-7 ms every few hundred commands or every
// ~50 ms at 200 sessions (see BENCHMARKS.md, "GC"). Heap flags cannot be changed once Node has started, so the shebang
// passes it when the file is executed (`npx reactor`, `./bin/reactor.mjs`, an installed `reactor`) and `npm start`
// passes it explicitly; `node bin/reactor.mjs` runs with whatever flags it was given.
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
register()
await import("../src/cli/main.ts")
