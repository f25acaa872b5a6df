/**
 * Builds the browser test page: the real `@reactor-team/js-sdk` 2.9.0 and React bundled by esbuild with the page
 * (test/sdk/page/main.js) into a directory the server serves as its web root.
 */
import { build } from "esbuild"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>Reactor SDK test page</title></head>
<body><div id="root"></div><script src="/sdk-page.js"></script></body></html>
`

/** Bundles the page (`entry`, a file of test/sdk/page) into a fresh directory and returns it. */
export const page = async (entry = "main.js"): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), "reactor-sdk-page-"))
  await build({
    entryPoints: [fileURLToPath(new URL(`./page/${entry}`, import.meta.url))],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "chrome120",
    // the SDK reads process.env.NODE_ENV (sendCommand refuses before `ready` unless it is "development")
    define: { "process.env.NODE_ENV": "\"production\"" },
    outfile: join(dir, "sdk-page.js"),
    logLevel: "silent"
  })
  writeFileSync(join(dir, "index.html"), html)
  return dir
}
