/**
 * What the browser suites of test/sdk/ share: the SDK page bundled into a web root (Bundle.ts), a server of the
 * suite's model serving it, and a headless Chromium with the test flags (autoplay allowed, plus the suite's own),
 * started before the suite's tests and closed after them. Without Chromium a suite is skipped with a warning
 * (`warnIfSkipped`, `describe.skipIf(!Chromium.run)`); in CI its setup fails (`Chromium.ensure`).
 */
import { LogLevel } from "effect"
import { rmSync } from "node:fs"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import type * as ServerConfig from "../../src/config/ServerConfig.js"
import * as Server from "../../src/server/Server.js"
import { subprocessTestMs } from "../fixtures/bounds.js"
import * as Chromium from "../web/Chromium.js"
import * as Bundle from "./Bundle.js"

/** The server's log level in tests: none, unless REACTOR_TEST_LOGS=1. */
export const logLevel = process.env.REACTOR_TEST_LOGS === "1" ? LogLevel.Debug : LogLevel.None

/** Warns, when the test file loads, that its browser suites are skipped (no Chromium here). */
export const warnIfSkipped = (file: string): void => {
  if (!Chromium.run) console.warn(`${file}: browser tests skipped: ${Chromium.missing}`)
}

/** A suite's setup. */
export interface Options {
  /** The model the server serves. */
  readonly model: Parameters<typeof Server.listen>[0]
  /** Server options beyond loopback, a free port, a 2 s grace and the page's web root (e.g. `maxSessions`). */
  readonly server?: Omit<ServerConfig.Input, "host" | "port" | "webRoot">
  /** Chromium flags beyond the test flags and autoplay; read when the browser starts. */
  readonly flags?: () => ReadonlyArray<string>
}

/** What the suite's tests use, once `beforeAll` has run. */
export interface Suite {
  readonly server: Server.Handle
  readonly browser: Browser
  /** The bundled page's directory (a test may serve it from a server of its own). */
  readonly webRoot: string
}

/** Registers the suite's `beforeAll` (page, server, browser) and `afterAll` (all three closed); call in `describe`. */
export const start = (options: Options): Suite => {
  let server: Server.Handle | undefined
  let browser: Browser | undefined
  let webRoot: string | undefined
  beforeAll(async () => {
    Chromium.ensure()
    webRoot = await Bundle.page()
    server = await Server.listen(
      options.model,
      { host: "127.0.0.1", port: 0, graceMs: 2_000, ...options.server, webRoot },
      undefined,
      logLevel
    )
    browser = await Chromium.launch("--autoplay-policy=no-user-gesture-required", ...(options.flags?.() ?? []))
  }, subprocessTestMs)
  afterAll(async () => {
    await browser?.close()
    await server?.close()
    if (webRoot) rmSync(webRoot, { recursive: true, force: true })
  })
  return {
    get server() {
      return server!
    },
    get browser() {
      return browser!
    },
    get webRoot() {
      return webRoot!
    }
  }
}
