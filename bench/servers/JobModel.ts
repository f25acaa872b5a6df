/**
 * The bench model of the job in `BENCH_JOB` (JSON), as a model module: what a model host loads in its worker
 * thread when the runtime server runs with worker isolation (`bench/servers/runtime.ts`).
 */
import type { Job } from "./Job.js"
import * as Models from "./Models.js"

export default Models.make(JSON.parse(process.env.BENCH_JOB ?? "{}") as Job)
