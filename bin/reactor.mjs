#!/usr/bin/env node
// The `reactor` command: registers tsx's ESM loader so model modules and the CLI itself run as TypeScript, then
// starts src/cli/main.ts.
import { register } from "tsx/esm/api"

register()
await import("../src/cli/main.ts")
