/**
 * Who may start sessions over HTTP. A server that joined a cluster takes sessions only from its coordinator (over the
 * cluster, with the shared secret): its `POST /start_session` answers 403 `cluster_runner` and names the coordinator's
 * endpoint instead.
 */
import { Context, Effect } from "effect"
import * as HttpError from "./HttpError.js"

/** Whether this server is a cluster runner (its sessions come from the coordinator only). Default false. */
export class ClusterRunner extends Context.Reference<ClusterRunner>()("effect-reactor/http/StartGate/ClusterRunner", {
  defaultValue: () => false
}) {}

/** Fails with 403 `cluster_runner` on a cluster runner. */
export const check = Effect.flatMap(ClusterRunner, (runner) =>
  runner
    ? HttpError.make(
      403,
      "cluster_runner",
      "this server is a cluster runner: it takes sessions only from its coordinator; start one with POST /sessions on the coordinator"
    )
    : Effect.void)
