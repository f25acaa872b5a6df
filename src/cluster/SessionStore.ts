/**
 * The coordinator's sessions, in PostgreSQL (table `reactor_sessions`), so a restarted coordinator, or a second one
 * behind the same address, knows every session: where it was placed, the runner's answer, how it ended.
 * States: `PENDING` (placed, the runner not yet answered), `ACTIVE` (running on its runner), `CLOSED` (ended, with a
 * reason such as `stopped`, `model_finished`, `runner_lost`).
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** A session as stored. */
export interface Row {
  readonly id: string
  readonly model: string
  readonly runner: string
  readonly state: "PENDING" | "ACTIVE" | "CLOSED"
  readonly runner_session_id: string | null
  readonly runner_url: string | null
  readonly response: Record<string, unknown> | null
  readonly reason: string | null
  readonly message: string | null
  readonly created_at: string
  readonly placed_at: string | null
}

/** Creates the table when it is not there. */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS reactor_sessions (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    runner TEXT NOT NULL,
    state TEXT NOT NULL,
    runner_session_id TEXT,
    runner_url TEXT,
    response JSONB,
    reason TEXT,
    message TEXT,
    created_at BIGINT NOT NULL,
    placed_at BIGINT
  )`
  yield* sql`CREATE INDEX IF NOT EXISTS reactor_sessions_live ON reactor_sessions (runner) WHERE state <> 'CLOSED'`
  yield* sql`CREATE INDEX IF NOT EXISTS reactor_sessions_runner_session ON reactor_sessions (runner_session_id)`
})

/** The store's operations. */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const orDie = Effect.orDie
  return {
    /**
     * Runs `effect` in a transaction holding the placement lock, so that coordinators placing at once (several behind
     * one address) see each other's sessions: reading the load and inserting are one step for all of them.
     */
    exclusive: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      sql.withTransaction(Effect.zipRight(orDie(sql`SELECT pg_advisory_xact_lock(${placementLock})`), effect)).pipe(
        Effect.catchTag("SqlError", Effect.die)
      ),
    insert: (id: string, model: string, runner: string) =>
      orDie(sql`INSERT INTO reactor_sessions (id, model, runner, state, created_at)
        VALUES (${id}, ${model}, ${runner}, 'PENDING', ${Date.now()})`),
    /** Places a pending session on another runner (its first refused it); false when it is no longer pending. */
    move: (id: string, runner: string) =>
      orDie(Effect.map(
        sql`UPDATE reactor_sessions SET runner = ${runner} WHERE id = ${id} AND state = 'PENDING' RETURNING id`,
        (rows) => rows.length > 0
      )),
    get: (id: string) =>
      orDie(Effect.map(sql<Row>`SELECT * FROM reactor_sessions WHERE id = ${id}`, (rows) => rows[0])),
    /**
     * A session by the id a client knows it by: the coordinator's, or its runner's (what a client of a socket
     * transport reads in its URL and in `sessionReady`), so that a client whose runner died can still ask why.
     */
    find: (id: string) =>
      orDie(Effect.map(
        sql<Row>`SELECT * FROM reactor_sessions WHERE id = ${id} OR runner_session_id = ${id}
          ORDER BY (id = ${id}) DESC, created_at DESC LIMIT 1`,
        (rows) => rows[0]
      )),
    /** The runner accepted: `ACTIVE` unless it was closed meanwhile (then false: stop it on the runner). */
    activate: (id: string, runnerSessionId: string, runnerUrl: string, response: unknown) =>
      orDie(Effect.map(
        sql`UPDATE reactor_sessions SET state = 'ACTIVE', runner_session_id = ${runnerSessionId},
          runner_url = ${runnerUrl}, response = ${JSON.stringify(response)}::jsonb, placed_at = ${Date.now()}
          WHERE id = ${id} AND state = 'PENDING' RETURNING id`,
        (rows) => rows.length > 0
      )),
    /** Ends a session unless it already ended; true when this call ended it. */
    close: (id: string, reason: string, message: string) =>
      orDie(Effect.map(
        sql`UPDATE reactor_sessions SET state = 'CLOSED', reason = ${reason}, message = ${message}
          WHERE id = ${id} AND state <> 'CLOSED' RETURNING id`,
        (rows) => rows.length > 0
      )),
    /** Every session not ended. */
    live: orDie(sql<Row>`SELECT * FROM reactor_sessions WHERE state <> 'CLOSED'`),
    /** Sessions not ended, per runner. */
    load: orDie(Effect.map(
      sql<{ runner: string; n: string }>`SELECT runner, count(*) AS n FROM reactor_sessions
        WHERE state <> 'CLOSED' GROUP BY runner`,
      (rows) => new Map(rows.map((row) => [row.runner, Number(row.n)]))
    ))
  }
})

/** The advisory lock key of placement (any constant; the engine's shard locks are rows, not advisory locks). */
export const placementLock = 0x52_45_41_43

export type Store = Effect.Effect.Success<typeof make>
