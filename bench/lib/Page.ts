/**
 * A benchmark's browser page, served on a loopback port of its own (an allowed CORS origin for the server under test).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

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
