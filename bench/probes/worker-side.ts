/**
 * A probe of the model host's per-frame work, in one thread with no server: N sessions of bench 5's model (30 fps,
 * 74x74 RGB, block 1), each frame handed to a sink as the worker hands it to the server (`FrameLink.sender` on a
 * `MessageChannel` whose far end just counts). Prints the CPU time per frame (process.cpuUsage over the window) and
 * the messages per frame each way across the port. On a VM whose cores are shared, stolen time still counts as CPU
 * time: compare runs taken back to back, alternating.
 * `node --import tsx bench/probes/worker-side.ts [N] [seconds]` (add `--cpu-prof` for where the time goes);
 * `PROBE_JOB=stream`: bench 1's model instead (64 KiB frames as fast as the link takes them).
 */
import { Effect, Logger, LogLevel } from "effect"
import { MessageChannel, type MessagePort } from "node:worker_threads"
import * as FrameLink from "../../src/host/FrameLink.js"
import * as Model from "../../src/model/Model.js"
import * as SessionId from "../../src/protocol/SessionId.js"
import * as Session from "../../src/session/Session.js"
import * as Models from "../servers/Models.js"

const n = Number(process.argv[2] ?? 50)
const seconds = Number(process.argv[3] ?? 8)

let frames = 0
// Messages across the boundary, each way: every one wakes the other thread's event loop.
let toServer = 0
let toWorker = 0
const counted = (port: MessagePort, count: () => void) => {
  const post = port.postMessage.bind(port)
  port.postMessage = (...args: Parameters<typeof post>) => {
    count()
    return post(...args)
  }
  return port
}

const program = Effect.gen(function*() {
  const model = yield* Model.Model
  for (let i = 0; i < n; i++) {
    const id = SessionId.make()
    const own = new MessageChannel()
    counted(own.port1, () => toWorker++)
    counted(own.port2, () => toServer++)
    const took = FrameLink.granter(own.port1)
    own.port1.on("message", () => {
      frames++
      took()
    })
    const link = FrameLink.sender(own.port2)
    yield* Session.make(model, { id, sink: link.send })
  }
  yield* Effect.sleep(2000)
  const f0 = frames
  const s0 = toServer
  const w0 = toWorker
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  yield* Effect.sleep(seconds * 1000)
  const c1 = process.cpuUsage(c0)
  const took = (performance.now() - t0) / 1000
  const count = frames - f0
  console.log(JSON.stringify({
    sessions: n,
    fpsPerSession: +(count / took / n).toFixed(1),
    cpuPercent: +(((c1.user + c1.system) / 1e6 / took) * 100).toFixed(1),
    cpuPerFrameUs: +((c1.user + c1.system) / count).toFixed(1),
    messagesToServerPerFrame: +((toServer - s0) / count).toFixed(3),
    messagesToWorkerPerFrame: +((toWorker - w0) / count).toFixed(3)
  }))
}).pipe(
  Effect.scoped,
  Effect.provide(Models.layer(
    process.env.PROBE_JOB === "stream"
      ? { job: "stream", width: 148, height: 148 }
      : { job: "generate", fps: 30, block: 1, width: 74, height: 74, stateful: false }
  )),
  Logger.withMinimumLogLevel(LogLevel.Warning)
)

Effect.runPromise(program).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
