/**
 * `npm run bench`: runs every benchmark, prints one table each (runtime beside its bare `ws` baseline measured in the
 * same run, and their ratio), and writes `bench/results/latest.json`. `--smoke` (or `BENCH_SMOKE=1`) runs tiny
 * counts in seconds and writes its JSON to the temp dir instead (or `BENCH_RESULTS`); `--only=a,b` runs some benchmarks.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { benchmark as cluster } from "./cluster.js"
import { benchmark as codecs } from "./codecs.js"
import { benchmark as commandToFrame } from "./command-to-frame.js"
import { benchmark as encoding } from "./encoding.js"
import { benchmark as examples } from "./examples.js"
import { benchmark as fairness } from "./fairness.js"
import { benchmark as inputs } from "./inputs.js"
import { benchmark as isolation } from "./isolation.js"
import { shippedNodeArgs } from "./lib/Child.js"
import type { Benchmark, Config } from "./lib/Harness.js"
import * as Machine from "./lib/Machine.js"
import * as Table from "./lib/Table.js"
import { benchmarks as neural } from "./neural.js"
import { benchmark as observability } from "./observability.js"
import { benchmark as pacing } from "./pacing.js"
import { benchmark as slots } from "./probes/shared-slots.js"
import { benchmark as pythonNeural } from "./python-neural.js"
import { benchmark as python } from "./python.js"
import { benchmark as roundtrip } from "./roundtrip.js"
import { benchmark as scale } from "./scale.js"
import { benchmark as throughput } from "./throughput.js"
import { benchmark as webcam } from "./webcam.js"
import { benchmark as webrtcTuning } from "./webrtc-tuning.js"
import { benchmark as webrtc } from "./webrtc.js"

const all: ReadonlyArray<Benchmark> = [
  throughput,
  roundtrip,
  commandToFrame,
  pacing,
  scale,
  encoding,
  fairness,
  isolation,
  webrtc,
  webrtcTuning,
  codecs,
  inputs,
  webcam,
  examples,
  python,
  pythonNeural,
  ...neural,
  observability,
  cluster,
  slots
]

const args = process.argv.slice(2)
const smoke = args.includes("--smoke") || process.env.BENCH_SMOKE === "1"
const only = args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length).split(",")
const selected = only === undefined ? all : all.filter((b) => only.includes(b.name))
const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results")
// A smoke run (CI, tests) leaves the tree alone: its figures mean nothing.
const resultsFile = process.env.BENCH_RESULTS ??
  (smoke ? path.join(os.tmpdir(), "effect-reactor-bench-smoke.json") : path.join(resultsDir, "latest.json"))

// Every loop is bounded on its own; this is the last resort against a hung run.
const watchdogMs = smoke ? 19 * 60_000 : 40 * 60_000
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${watchdogMs / 60_000} min; giving up\n`)
  process.exit(2)
}, watchdogMs)
watchdog.unref()

const config: Config = { smoke, log: (line) => process.stderr.write(line + "\n") }

const main = async () => {
  const machine = Machine.describe()
  const started = new Date()
  console.log(`# effect-reactor benchmarks${smoke ? " (smoke: tiny counts, figures meaningless)" : ""}`)
  console.log("")
  console.log(Machine.format(machine))
  console.log(`started: ${started.toISOString()}`)
  const serverNodeArgs = [
    ...shippedNodeArgs,
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
  ]
  console.log(`server node flags (runtime and bare alike): ${serverNodeArgs.join(" ") || "none"}`)
  const tables: Array<Table.Table & { readonly seconds: number }> = []
  let failures = 0
  for (const bench of selected) {
    config.log(`bench: ${bench.name}...`)
    const t0 = performance.now()
    try {
      for (const table of await bench.run(config)) {
        const seconds = (performance.now() - t0) / 1000
        tables.push({ ...table, seconds })
        failures += table.notes.filter((note) => note.includes("FAILED")).length
        console.log("")
        console.log(Table.render(table))
      }
    } catch (error) {
      failures++
      console.log("")
      console.log(`### ${bench.name}: FAILED\n\n${error instanceof Error ? error.stack : String(error)}`)
    }
    config.log(`bench: ${bench.name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  const seconds = (Date.now() - started.getTime()) / 1000
  console.log("")
  console.log(`total: ${seconds.toFixed(1)} s; ${failures === 0 ? "no failures" : `${failures} FAILED measurement(s)`}`)
  const json = {
    smoke,
    startedAt: started.toISOString(),
    seconds,
    machine,
    serverNodeArgs,
    benchmarks: tables.map((table) => ({
      name: table.name,
      title: table.title,
      seconds: table.seconds,
      columns: table.columns,
      rows: table.rows.map((row) => ({ ...row, ratio: Table.ratio(row) ?? null })),
      notes: table.notes
    }))
  }
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true })
  fs.writeFileSync(resultsFile + ".tmp", JSON.stringify(json, null, 2) + "\n")
  fs.renameSync(resultsFile + ".tmp", resultsFile)
  console.log(`results: ${path.relative(process.cwd(), resultsFile)}`)
  process.exitCode = failures === 0 ? 0 : 1
}

main().then(
  () => process.exit(),
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
