/**
 * `reactor coordinator`: Reactor's coordinator API in front of a cluster of runners, as the official SDK speaks it out
 * of local mode (`apiUrl` at the coordinator, `Authorization: Bearer <JWT>`):
 * - `POST /sessions` `{model: {name}, supported_transports?, extra_args?}` places the session on the least loaded
 *   runner serving that model (503 `no_capacity` when every one is full, 503 `no_runner` when none serves it) and
 *   answers at once, `state: "PENDING"`; the runner is asked to start it over the cluster (`RunnerEntity.Start`).
 * - `GET /sessions/{id}`: `PENDING`, then `ACTIVE` with the runner's `capabilities` and `selected_transport` (WebRTC
 *   signalling at this coordinator; the WebSocket transports at the runner, absolute URLs), then `CLOSED` with a
 *   `reason` (`runner_lost` when its runner died).
 * - `GET /sessions/{id}/info`, `DELETE /sessions/{id}`, `GET /health`. Every `/sessions/{id}` path also takes the
 *   runner's id of the session (the one a socket transport's client sees), so such a client whose socket dropped asks
 *   here why (`CLOSED`, `runner_lost`), and never gets a 404.
 * - `/sessions/{id}/transport/webrtc/{ice_servers,sdp_params}`: relayed to the runner holding the session; media and
 *   the data channel then go straight between the client and the runner. `POST /sessions/{id}/uploads` too (the
 *   upload slot's URL is the runner's: the bytes go there).
 * Runners started with `--token` (their HTTP API protected): the coordinator is started with the same token
 * (`runnerToken`, `--runner-token` or env `REACTOR_RUNNER_TOKEN`) and sends it on every relay; its clients never see
 * it: a WebSocket transport's URL carries the session's ticket (`Auth.ticket`), which opens that session's sockets only.
 * Sessions are rows in PostgreSQL (`SessionStore`); membership comes from the engine (`RunnerStorage.getRunners`:
 * runners with a fresh heartbeat), each runner's status from its entity, polled every heartbeat. A runner that leaves
 * the list has its sessions ended `runner_lost`.
 */
import { RunnerStorage } from "@effect/cluster"
import {
  FileSystem,
  HttpIncomingMessage,
  HttpMiddleware,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, FiberSet, Layer, Option, Ref, Schedule, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import * as ServerConfig from "../config/ServerConfig.js"
import * as Auth from "../http/Auth.js"
import * as Body from "../http/Body.js"
import * as Cors from "../http/Cors.js"
import * as HttpError from "../http/HttpError.js"
import * as Middleware from "../http/Middleware.js"
import * as SessionResponse from "../protocol/SessionResponse.js"
import type { ClusterSettings } from "./ClusterSettings.js"
import * as Engine from "./Engine.js"
import * as Jwt from "./Jwt.js"
import * as Placement from "./Placement.js"
import { RunnerEntity, type RunnerStatus } from "./RunnerEntity.js"
import * as SessionStore from "./SessionStore.js"

/** The coordinator's settings. */
export interface Settings {
  readonly host: string
  readonly port: number
  /** The HS256 secret of the clients' bearer tokens. */
  readonly jwtSecret: string
  /** The cluster's name in session responses (`cluster`). Default `reactor`. */
  readonly clusterName?: string
  /** How long a runner may take to start a session before it counts as failed. Default 30 s. */
  readonly startTimeoutMs?: number
  /** The token the runners' HTTP API takes (their `--token`): sent on relays, and the key of the session tickets. */
  readonly runnerToken?: string | undefined
}

/** The reason of the sessions of a runner that died. */
export const runnerLost = "runner_lost"

/** `POST /sessions`'s body (Reactor's `CreateSessionRequest`). */
export const CreateBody = Schema.Struct({
  model: Schema.Struct({ name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)) }),
  client_info: Schema.optionalWith(Schema.Unknown, { exact: true }),
  supported_transports: Schema.optionalWith(Schema.Unknown, { exact: true }),
  extra_args: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
})

const DeleteBody = Schema.Struct({ reason: Schema.optionalWith(Schema.String, { exact: true }) })

/** A runner as the coordinator last saw it. */
interface RunnerView {
  readonly id: string
  readonly status: RunnerStatus
}

const newSessionId = () => randomBytes(16).toString("base64url")

/** The coordinator's state and operations, shared by its routes. */
const make = (settings: ClusterSettings, options: Settings) =>
  Effect.gen(function*() {
    yield* SessionStore.migrate.pipe(Effect.orDie)
    const store = yield* SessionStore.make
    const runnerStorage = yield* RunnerStorage.RunnerStorage
    const client = yield* RunnerEntity.client
    const view = yield* Ref.make<ReadonlyMap<string, RunnerView>>(new Map())
    const placing = yield* Effect.makeSemaphore(1)
    const fibers = yield* FiberSet.make()
    const cluster = options.clusterName ?? "reactor"
    const secret = settings.secret
    const statusTimeout = Duration.millis(Math.max(1_000, 2 * settings.heartbeatMs))
    const startTimeoutMs = options.startTimeoutMs ?? 30_000

    /** Runner ids the engine lists as alive (heartbeat fresher than `runnerLostMs`). */
    const members = Effect.map(
      Effect.orDie(runnerStorage.getRunners),
      (runners) => new Set(runners.flatMap(([runner]) => runner.groups.flatMap((g) => Engine.runnerOfGroup(g) ?? [])))
    )

    /** One round of membership: statuses, lost runners, sessions that ended on their runner. */
    const refresh = Effect.gen(function*() {
      const present = yield* members
      const asked = Date.now()
      const statuses = yield* Effect.forEach(
        present,
        (id) =>
          client(id).Status({ secret }).pipe(
            Effect.disconnect,
            Effect.timeout(statusTimeout),
            Effect.option,
            Effect.map((status) => [id, status] as const)
          ),
        { concurrency: "unbounded" }
      )
      const previous = yield* Ref.get(view)
      for (const [id, status] of statuses) {
        // said once per runner as it joins: every relay to it would fail
        if (Option.isSome(status) && status.value.protected && options.runnerToken === undefined && !previous.has(id)) {
          yield* Effect.logWarning(
            `runner ${id} is protected by a token, and this coordinator has none: relays to it (signalling, uploads) ` +
              "will fail; start the coordinator with --runner-token (or env REACTOR_RUNNER_TOKEN) set to the runners' --token"
          )
        }
      }
      const next = new Map<string, RunnerView>()
      for (const [id, status] of statuses) {
        if (Option.isSome(status)) next.set(id, { id, status: status.value })
        else if (previous.has(id)) next.set(id, previous.get(id)!)
      }
      yield* Ref.set(view, next)
      const live = yield* store.live
      for (const row of live) {
        // a start nobody is waiting for any more (its coordinator restarted, or the runner never answered)
        if (row.state === "PENDING" && asked - Number(row.created_at) > startTimeoutMs + 2 * settings.runnerLostMs) {
          yield* store.close(row.id, "start_failed", `runner ${row.runner} did not start the session in time`)
          continue
        }
        if (!present.has(row.runner)) {
          if (
            yield* store.close(
              row.id,
              runnerLost,
              `runner ${row.runner} stopped answering (no heartbeat for ${settings.runnerLostMs} ms): the session is lost`
            )
          ) yield* Effect.logWarning(`session ${row.id} ended: runner ${row.runner} lost`)
          continue
        }
        const status = statuses.find(([id]) => id === row.runner)?.[1]
        if (
          row.state === "ACTIVE" && status !== undefined && Option.isSome(status) &&
          Number(row.placed_at) < asked && !status.value.sessions.includes(row.runner_session_id!)
        ) {
          const ended = status.value.ended.find((e) => e.id === row.runner_session_id)
          yield* store.close(row.id, ended?.reason ?? "ended", ended?.message ?? "the session ended on its runner")
        }
      }
    })

    yield* refresh.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("cluster membership refresh failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.millis(settings.heartbeatMs))),
      Effect.forkScoped
    )

    const stopOnRunner = (runner: string, runnerSessionId: string, by: string) =>
      client(runner).Stop({ secret, runnerSessionId, by }).pipe(
        Effect.disconnect,
        Effect.timeout(Duration.millis(options.startTimeoutMs ?? 30_000)),
        Effect.option
      )

    /** Asks the runner to start a placed session; records the answer (or why it failed). */
    const startOn = (
      id: string,
      runner: RunnerView,
      body: typeof CreateBody.Type,
      excluded: ReadonlyArray<string> = []
    ): Effect.Effect<void> =>
      client(runner.id).Start({
        secret,
        ...(body.extra_args !== undefined ? { extraArgs: body.extra_args } : {}),
        ...(body.supported_transports !== undefined ? { supportedTransports: body.supported_transports } : {})
      }).pipe(
        // the engine's client may hold an interruption until the runner answers: the timeout must not wait for it
        Effect.disconnect,
        Effect.timeout(Duration.millis(startTimeoutMs)),
        Effect.flatMap((started) =>
          Effect.flatMap(
            store.activate(id, started.runnerSessionId, runner.status.url, started.response),
            (activated) => activated ? Effect.void : stopOnRunner(runner.id, started.runnerSessionId, "api")
          )
        ),
        Effect.catchAll((error) =>
          // refused for want of room (it began draining, or holds sessions the coordinator does not count): placed
          // again on another runner, at most twice
          error._tag === "Refused" && (error.code === "draining" || error.code === "too_many_sessions") &&
            excluded.length < 2
            ? place(body, { id, excluded: [...excluded, runner.id] }).pipe(
              Effect.flatMap((again) => startOn(id, again.runner, body, [...excluded, runner.id])),
              Effect.catchAll((refusal) => Effect.asVoid(store.close(id, refusal.code, refusal.message)))
            )
            : store.close(
              id,
              error._tag === "Refused" ? error.code : "start_failed",
              error._tag === "Refused"
                ? error.message
                : error._tag === "TimeoutException"
                ? `runner ${runner.id} did not start the session in time`
                : `runner ${runner.id} could not be reached: ${error._tag}`
            )
        )
      )

    /** Chooses a runner and records the session there (admission control: one placement at a time, cluster-wide). */
    const place = (
      body: typeof CreateBody.Type,
      again?: { readonly id: string; readonly excluded: ReadonlyArray<string> }
    ) =>
      placing.withPermits(1)(store.exclusive(Effect.gen(function*() {
        const load = yield* store.load
        const runners = [...(yield* Ref.get(view)).values()].filter((r) => !again?.excluded.includes(r.id))
        const choice = Placement.choose(
          body.model.name,
          runners.map((runner) => ({
            id: runner.id,
            model: runner.status.model,
            capacity: runner.status.capacity,
            draining: runner.status.draining,
            load: load.get(runner.id) ?? 0
          }))
        )
        switch (choice._tag) {
          case "NoRunner":
            return yield* HttpError.make(
              503,
              "no_runner",
              `no runner serves model ${JSON.stringify(body.model.name)}` +
                (choice.models.length > 0 ? ` (runners serve: ${choice.models.join(", ")})` : " (no runner is up)"),
              { model: body.model.name }
            )
          case "NoCapacity":
            return yield* HttpError.make(
              503,
              "no_capacity",
              `no capacity for model ${
                JSON.stringify(body.model.name)
              }: its ${choice.runners} runner(s) hold ${choice.load} of ${choice.capacity} sessions; try again later`,
              { model: body.model.name, runners: choice.runners, capacity: choice.capacity, sessions: choice.load }
            )
          case "Placed": {
            const id = again?.id ?? newSessionId()
            if (again === undefined) yield* store.insert(id, body.model.name, choice.runner.id)
            else if (!(yield* store.move(id, choice.runner.id))) {
              return yield* HttpError.make(409, "session_closed", `session ${id} ended while it was placed again`)
            }
            return { id, runner: runners.find((r) => r.id === choice.runner.id)! }
          }
        }
      })))

    /** Places a new session, then starts it on its runner in the background; answers its id. */
    const create = (body: typeof CreateBody.Type) =>
      Effect.flatMap(place(body), ({ id, runner }) => Effect.as(FiberSet.run(fibers, startOn(id, runner, body)), id))

    return { store, view, create, stopOnRunner, members, cluster, runnerToken: options.runnerToken }
  })

type Coordinator = Effect.Effect.Success<ReturnType<typeof make>>

const base = (coordinator: Coordinator, row: SessionStore.Row) => ({
  session_id: row.id,
  state: row.state,
  cluster: coordinator.cluster,
  model: { name: row.model },
  server_info: { server_version: SessionResponse.serverVersion }
})

/** The headers that authenticate the coordinator to a runner (none when the runners are open). */
const runnerAuth = (runnerToken: string | undefined): Record<string, string> =>
  runnerToken === undefined ? {} : { authorization: `Bearer ${runnerToken}` }

/**
 * A transport of the runner's answer, as a client of the coordinator reaches it: WebRTC signalling here, the socket
 * transports at the runner (with the session's ticket when the runners are protected).
 */
const transportFor = (row: SessionStore.Row, transport: unknown, runnerToken: string | undefined) => {
  if (typeof transport !== "object" || transport === null) return transport
  const t = transport as { protocol?: unknown; url?: unknown }
  if (t.protocol === "webrtc") return { ...t, url: SessionResponse.webrtcPath(row.id) }
  if (typeof t.url !== "string") return t
  const url = new URL(row.runner_url!.replace(/^http/, "ws") + t.url)
  if (runnerToken !== undefined) url.searchParams.set("token", Auth.ticket(runnerToken, row.runner_session_id!))
  return { ...t, url: url.toString() }
}

/** `GET /sessions/{id}`'s body. */
const sessionBody = (coordinator: Coordinator, row: SessionStore.Row) => {
  if (row.state === "ACTIVE" && row.response !== null) {
    const response = row.response as { selected_transport?: unknown; transports?: unknown; capabilities?: unknown }
    return {
      ...base(coordinator, row),
      model: (row.response as { model?: unknown }).model ?? { name: row.model },
      selected_transport: transportFor(row, response.selected_transport, coordinator.runnerToken),
      transports: Array.isArray(response.transports)
        ? response.transports.map((t) => transportFor(row, t, coordinator.runnerToken))
        : undefined,
      capabilities: response.capabilities,
      runner: { id: row.runner, url: row.runner_url }
    }
  }
  if (row.state === "CLOSED") return { ...base(coordinator, row), reason: row.reason, message: row.message }
  return base(coordinator, row)
}

export class Tag extends Effect.Tag("effect-reactor/cluster/Coordinator")<Tag, Coordinator>() {}

const idParam = Effect.map(HttpRouter.params, (params) => params.id ?? "")

const find = Effect.gen(function*() {
  const coordinator = yield* Tag
  const id = yield* idParam
  const row = yield* coordinator.store.find(id)
  if (row === undefined) return yield* HttpError.sessionNotFound(id)
  return { coordinator, row }
})

/** A placed session's runner address, or why a relay cannot go there yet. */
const placed = (row: SessionStore.Row) =>
  row.state === "PENDING"
    ? HttpError.make(409, "session_pending", `session ${row.id} is not started yet: poll GET /sessions/${row.id}`)
    : row.state === "CLOSED"
    ? HttpError.make(410, "session_closed", `session ${row.id} has ended: ${row.reason}`, { reason: row.reason })
    : Effect.succeed({ url: row.runner_url!, runnerSessionId: row.runner_session_id! })

const relayTimeoutMs = 20_000
/** Largest body relayed to a runner (an SDP offer with its candidates is a few KiB). */
const maxRelayBytes = 256 * 1024

/**
 * Relays a request to the runner holding the session (at `path` of the runner's session id) and answers what the
 * runner answered: the WebRTC signalling, and upload slots (whose `presigned_url` then names the runner, where the
 * client PUTs the bytes).
 */
const relay = (path: (runnerSessionId: string) => string) =>
  Effect.gen(function*() {
    const { coordinator, row } = yield* find
    const target = yield* placed(row)
    const request = yield* HttpServerRequest.HttpServerRequest
    const tooLarge = HttpError.make(
      413,
      "body_too_large",
      `a relayed request body may be ${maxRelayBytes} bytes at most`,
      {
        limit: maxRelayBytes
      }
    )
    if (Number(request.headers["content-length"]) > maxRelayBytes) return yield* tooLarge
    const body = request.method === "GET" ? undefined : yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(FileSystem.Size(maxRelayBytes))),
      Effect.mapError(() => tooLarge)
    )
    const headers: Record<string, string> = runnerAuth(coordinator.runnerToken)
    for (const name of ["content-type", "reactor-webrtc-version"]) {
      const value = request.headers[name]
      if (value !== undefined) headers[name] = value
    }
    const answer = yield* Effect.tryPromise({
      try: async (signal) => {
        const response = await fetch(
          `${target.url}${path(encodeURIComponent(target.runnerSessionId))}`,
          {
            method: request.method,
            headers,
            signal: AbortSignal.any([signal, AbortSignal.timeout(relayTimeoutMs)]),
            ...(body !== undefined ? { body } : {})
          }
        )
        return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
      },
      catch: () => HttpError.make(502, "runner_unreachable", `the runner of session ${row.id} did not answer`)
    })
    if (answer.status === 401) return yield* runnerRefusedToken(row, coordinator.runnerToken)
    return HttpServerResponse.text(answer.text, {
      status: answer.status,
      contentType: answer.type ?? "application/json"
    })
  })

/** A runner refused the coordinator's credentials: said so, with what to fix (not the runner's own 401). */
const runnerRefusedToken = (row: SessionStore.Row, runnerToken: string | undefined) =>
  HttpError.make(
    502,
    "runner_unauthorized",
    runnerToken === undefined
      ? `the runner of session ${row.id} is protected by a token: start the coordinator with --runner-token ` +
        "(or env REACTOR_RUNNER_TOKEN) set to the runners' --token"
      : `the runner of session ${row.id} refused the coordinator's --runner-token: it must equal the runners' --token`,
    { runner: row.runner }
  )

/** Checks the bearer token (every route but `/health` and preflights). */
const auth = (jwtSecret: string) =>
  HttpMiddleware.make((app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://x").pathname
      if (request.method === "OPTIONS" || path === "/health") return yield* app
      const bearer = request.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim()
      if (bearer === undefined) {
        return yield* HttpError.make(401, "unauthorized", "this coordinator needs a token: Authorization: Bearer <JWT>")
      }
      const checked = Jwt.verify(bearer, jwtSecret)
      if ("error" in checked) return yield* HttpError.make(401, "unauthorized", checked.error)
      return yield* app
    })
  )

const label = (value: string) => value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))

/** The cluster's figures in Prometheus' text format: runners, and per runner its capacity, sessions, draining. */
export const metricsText = (runners: ReadonlyArray<RunnerView>, load: ReadonlyMap<string, number>): string => {
  const lines = [
    "# HELP reactor_cluster_runners Runners with a fresh heartbeat.",
    "# TYPE reactor_cluster_runners gauge",
    `reactor_cluster_runners ${runners.length}`
  ]
  const perRunner = [
    ["capacity", "Sessions the runner takes at once.", (r: RunnerView) => r.status.capacity],
    ["sessions", "Sessions placed on the runner and not ended.", (r: RunnerView) => load.get(r.id) ?? 0],
    ["draining", "1 while the runner drains (takes no new sessions).", (r: RunnerView) => r.status.draining ? 1 : 0]
  ] as const
  for (const [name, help, value] of perRunner) {
    lines.push(`# HELP reactor_cluster_runner_${name} ${help}`, `# TYPE reactor_cluster_runner_${name} gauge`)
    for (const runner of runners) {
      lines.push(
        `reactor_cluster_runner_${name}{runner="${label(runner.id)}",model="${label(runner.status.model)}"} ${
          value(runner)
        }`
      )
    }
  }
  return lines.join("\n") + "\n"
}

/** The endpoints. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/health",
    Effect.gen(function*() {
      const coordinator = yield* Tag
      const runners = [...(yield* Ref.get(coordinator.view)).values()]
      const load = yield* coordinator.store.load
      return HttpServerResponse.unsafeJson({
        status: "ok",
        cluster: coordinator.cluster,
        runners: runners.map((runner) => ({
          id: runner.id,
          model: runner.status.model,
          url: runner.status.url,
          capacity: runner.status.capacity,
          sessions: load.get(runner.id) ?? 0,
          draining: runner.status.draining
        })),
        capacity: runners.reduce((sum, runner) => sum + runner.status.capacity, 0),
        sessions: [...load.values()].reduce((sum, n) => sum + n, 0)
      })
    })
  ),
  HttpRouter.get(
    "/metrics",
    Effect.gen(function*() {
      const coordinator = yield* Tag
      const runners = [...(yield* Ref.get(coordinator.view)).values()]
      const load = yield* coordinator.store.load
      return HttpServerResponse.text(metricsText(runners, load), { contentType: "text/plain; version=0.0.4" })
    })
  ),
  HttpRouter.post(
    "/sessions",
    Effect.gen(function*() {
      const coordinator = yield* Tag
      const body = yield* Body.json(CreateBody)
      const id = yield* coordinator.create(body)
      const row = yield* coordinator.store.get(id)
      return HttpServerResponse.unsafeJson(base(coordinator, row!))
    })
  ),
  HttpRouter.get(
    "/sessions/:id",
    Effect.map(find, ({ coordinator, row }) => HttpServerResponse.unsafeJson(sessionBody(coordinator, row)))
  ),
  HttpRouter.get(
    "/sessions/:id/info",
    Effect.gen(function*() {
      const { coordinator, row } = yield* find
      const info = {
        ...base(coordinator, row),
        runner: row.runner,
        created_at: new Date(Number(row.created_at)).toISOString(),
        ...(row.state === "CLOSED" ? { reason: row.reason, message: row.message } : {})
      }
      if (row.state !== "ACTIVE") return HttpServerResponse.unsafeJson(info)
      const stats = yield* Effect.tryPromise(async () => {
        const response = await fetch(
          `${row.runner_url}/sessions/${encodeURIComponent(row.runner_session_id!)}/info`,
          { headers: runnerAuth(coordinator.runnerToken), signal: AbortSignal.timeout(5_000) }
        )
        return response.ok ? ((await response.json()) as { stats?: unknown }).stats : undefined
      }).pipe(Effect.orElseSucceed(() => undefined))
      return HttpServerResponse.unsafeJson(stats === undefined ? info : { ...info, stats })
    })
  ),
  HttpRouter.del(
    "/sessions/:id",
    Effect.gen(function*() {
      const { coordinator, row } = yield* find
      const { reason } = yield* Body.json(DeleteBody)
      const by = reason === undefined ? "api" : `api: ${reason.slice(0, 200)}`
      if (row.state === "ACTIVE") {
        const stopped = yield* coordinator.stopOnRunner(row.runner, row.runner_session_id!, by)
        const ended = Option.getOrUndefined(stopped)
        yield* coordinator.store.close(row.id, ended?.reason ?? "stopped", ended?.message ?? `stopped by ${by}`)
      } else if (row.state === "PENDING") {
        yield* coordinator.store.close(row.id, "stopped", `stopped by ${by} before it started`)
      }
      const closed = yield* coordinator.store.get(row.id)
      return HttpServerResponse.unsafeJson(sessionBody(coordinator, closed!))
    })
  ),
  HttpRouter.put(
    "/sessions/:id",
    Effect.flatMap(find, ({ row }) =>
      HttpError.make(
        501,
        "not_supported",
        `restarting a session is not supported: end ${row.id} with DELETE and create a new one`
      ))
  ),
  HttpRouter.get(
    "/sessions/:id/transport/webrtc/ice_servers",
    relay((id) => `${SessionResponse.webrtcPath(id)}/ice_servers`)
  ),
  HttpRouter.post(
    "/sessions/:id/transport/webrtc/sdp_params",
    relay((id) => `${SessionResponse.webrtcPath(id)}/sdp_params`)
  ),
  HttpRouter.put(
    "/sessions/:id/transport/webrtc/sdp_params",
    relay((id) => `${SessionResponse.webrtcPath(id)}/sdp_params`)
  ),
  HttpRouter.get(
    "/sessions/:id/transport/webrtc/sdp_params",
    relay((id) => `${SessionResponse.webrtcPath(id)}/sdp_params`)
  ),
  HttpRouter.post("/sessions/:id/uploads", relay((id) => `/sessions/${id}/uploads`))
)

/** The app: the endpoints behind the token, errors as JSON, CORS for any origin (the token is the gate). */
export const app = (jwtSecret: string) =>
  router.pipe(
    auth(jwtSecret),
    Middleware.errors,
    HttpMiddleware.cors({
      allowedOrigins: () => true,
      allowedMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
      allowedHeaders: Cors.allowHeaders,
      maxAge: 600
    })
  )

/** The coordinator's state as a layer over the engine (a client only) and the database. */
export const layerState = (settings: ClusterSettings, options: Settings) =>
  Layer.scoped(Tag, make(settings, options)).pipe(
    Layer.provide(Engine.layer(settings)),
    Layer.provideMerge(Engine.database(settings))
  )

/** The coordinator: HTTP on `host:port`, over the cluster. */
export const layer = (settings: ClusterSettings, options: Settings) =>
  HttpServer.serve(app(options.jwtSecret)).pipe(
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { host: options.host, port: options.port })),
    Layer.provide(layerState(settings, options)),
    Layer.provide(ServerConfig.layer({ host: options.host, port: options.port }))
  )

/** Runs the coordinator until interrupted. */
export const run = (settings: ClusterSettings, options: Settings) => Layer.launch(layer(settings, options))
