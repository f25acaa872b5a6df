/**
 * The `reactor` program: `bin/reactor.mjs` runs this file through tsx.
 */
import * as Cli from "./Cli.js"

Cli.runMain(process.argv.slice(2))
