/**
 * Debian's Chromium for the browser tests (`apt-get install -y chromium`; `CHROMIUM_PATH` points elsewhere): where it
 * is, whether a suite runs (in CI a missing browser is a failure, never a silent skip), and the launch flags that
 * keep a headless run from reaching the network.
 */
import { existsSync } from "node:fs"
import type { Browser } from "playwright-core"

export const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
export const available = existsSync(path)
/** Whether the browser suites run: Chromium is there, or CI demands it (then `launch` fails and says why). */
export const run = available || process.env.CI === "true"
export const missing = `${path} not found (apt-get install -y chromium)`

/** Flags of every test launch; a suite adds its own. */
export const args = (...extra: ReadonlyArray<string>): Array<string> => [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  ...extra
]

/** Fails a suite's setup when CI runs it without a browser. */
export const ensure = () => {
  if (!available) throw new Error(`CI=true needs Chromium for the browser tests: ${missing}`)
}

/** Launches a headless Chromium with the test flags and a suite's own (fails in CI without a browser). */
export const launch = async (...extra: ReadonlyArray<string>): Promise<Browser> => {
  ensure()
  const { chromium } = await import("playwright-core")
  return chromium.launch({ executablePath: path, headless: true, args: args(...extra) })
}
