#!/usr/bin/env -S node --max-semi-space-size=32
// The `reactor` command: registers tsx's ESM loader so model modules and the CLI itself run as TypeScript, then
// starts src/cli/main.ts.
//
// Node flags the runtime ships with. `--max-semi-space-size=32` (MiB) doubles V8's young generation: a serving
// process allocates per frame and per command, and with the default 16 MiB it ran a stop-the-world scavenge of
// 2-7 ms every few hundred commands or every ~50 ms at 200 sessions (see BENCHMARKS.md, "GC"). Heap flags cannot be
// changed once Node has started, so: the shebang above passes them when the file is executed (`npx reactor`,
// `./bin/reactor.mjs`, an installed `reactor`); `node bin/reactor.mjs` without them re-executes itself once with
// them. Passing the flag yourself (`node --max-semi-space-size=N bin/reactor.mjs`, or in NODE_OPTIONS) skips the
// re-exec and wins; REACTOR_NO_REEXEC=1 runs without the flag in this process.
export const nodeFlags = ["--max-semi-space-size=32"]

const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)]
const missing = nodeFlags.filter((flag) => !given.some((arg) => arg.startsWith(flag.split("=")[0])))

if (missing.length > 0 && process.env.REACTOR_NO_REEXEC !== "1" && process.env.REACTOR_REEXEC_PARENT === undefined) {
  const { spawn } = await import("node:child_process")
  const child = spawn(process.execPath, [...missing, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, REACTOR_REEXEC_PARENT: String(process.pid) }
  })
  // A terminal's Ctrl-C already reaches both processes (one process group); a second signal would make the child
  // exit at once instead of stopping cooperatively. So signals are forwarded only when there is no terminal
  // (a supervisor, a test, a pipe signals this process alone); with a terminal this process just waits.
  const forward = !process.stdin.isTTY
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (forward && child.exitCode === null && child.signalCode === null) child.kill(signal)
    })
  }
  child.on("error", (error) => {
    process.stderr.write(`reactor: could not start node: ${error.message}\n`)
    process.exit(1)
  })
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } else process.exit(code ?? 1)
  })
} else {
  // Re-executed: if the launching process disappears (killed with SIGKILL), stop too instead of living on as an orphan.
  const parent = Number(process.env.REACTOR_REEXEC_PARENT)
  if (Number.isInteger(parent) && parent > 0) {
    setInterval(() => {
      if (process.ppid !== parent) process.kill(process.pid, "SIGTERM")
    }, 1000).unref()
  }

  const { register } = await import("tsx/esm/api")
  // The big plain-JavaScript dependencies are loaded before the loader is registered: they are cached as they are,
  // and do not pay the loader's per-module cost (it makes `effect` alone load ~4x slower).
  await Promise.all([
    import("effect"),
    import("@effect/cli"),
    import("@effect/rpc"),
    import("@effect/platform-node/NodeContext"),
    import("@effect/platform-node/NodeRuntime")
  ])
  register()
  await import("../src/cli/main.ts")
}
