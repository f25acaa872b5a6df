import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

/** `npm run bench:smoke`: only the benchmarks' smoke test, which `npm test` leaves out. */
export default defineConfig({
  ...base,
  test: { ...base.test, include: ["test/bench/**/*.test.ts"], exclude: ["**/node_modules/**"] }
})
