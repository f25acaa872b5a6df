#!/usr/bin/env node
// The `reactor` command: registers tsx's ESM loader so model modules and the CLI itself run as TypeScript, then
// starts src/cli/main.ts.
import { register } from "tsx/esm/api"

// The big plain-JavaScript dependencies are loaded before the loader is registered: they are cached as they are, and
// do not pay the loader's per-module cost (it makes `effect` alone load ~4x slower).
await Promise.all([
  import("effect"),
  import("@effect/cli"),
  import("@effect/rpc"),
  import("@effect/platform-node/NodeContext"),
  import("@effect/platform-node/NodeRuntime")
])
register()
await import("../src/cli/main.ts")
