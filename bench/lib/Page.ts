/**
 * A benchmark's browser page, served on a loopback port of its own (an allowed CORS origin for the server under test).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type Config, pick } from "./Harness.js"

/** A served page: its address, and how to stop serving it. */
export interface Served {
  readonly url: string
  readonly close: () => Promise<void>
}

/** Serves `html` at every path. */
export const serve = (html: string): Promise<Served> =>
  new Promise((resolve) => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" })
      response.end(html)
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((done) => server.close(() => done()))
      }))
  })

/** The browser the page benchmarks drive (playwright-core's). */
export type Browser = import("playwright-core").Browser

/** A page benchmark's warm-up and measured window: 4 s and 12 s, 1.5 s each in smoke mode. */
export const windows = (config: Config) => ({
  warmupMs: pick(config, 4000, 1500),
  windowMs: pick(config, 12_000, 1500)
})

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
