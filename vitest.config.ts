import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = fileURLToPath(new URL("./src/", import.meta.url))

export default defineConfig({
  // The tests run the source: `effect-reactor` and its subpaths resolve to src/, as tsconfig.json's `paths` do for tsc
  // and tsx (package.json's exports point at the built dist/, which only `npm pack` makes).
  resolve: {
    alias: [
      { find: /^effect-reactor$/, replacement: `${src}index.ts` },
      { find: /^effect-reactor\/([a-z]+)$/, replacement: `${src}$1/index.ts` }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The benchmarks' smoke run (a subprocess that runs every benchmark once, ~30 s alone and minutes under load) is
    // its own CI step: `npm run bench:smoke` (vitest.bench.config.ts).
    exclude: ["test/bench/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two test files at a time even on 2 cores (vitest's default is cores - 1 = one): most of the suite waits on
    // subprocesses, worker threads, sockets and a browser, not on the CPU.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
