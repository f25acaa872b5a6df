/**
 * Where a new session goes: among the runners that serve the model and are not draining, the least loaded one with
 * room (load below capacity; ties go to the lowest id, so placement is deterministic). A session never moves once
 * placed: this is only asked at start.
 */

/** A runner as placement sees it. */
export interface Candidate {
  readonly id: string
  readonly model: string
  readonly capacity: number
  readonly draining: boolean
  /** Sessions placed there and not ended. */
  readonly load: number
}

/** Placement's answer. */
export type Choice =
  | { readonly _tag: "Placed"; readonly runner: Candidate }
  | { readonly _tag: "NoRunner"; readonly models: ReadonlyArray<string> }
  | { readonly _tag: "NoCapacity"; readonly runners: number; readonly capacity: number; readonly load: number }

/** Chooses a runner for a session of `model`. */
export const choose = (model: string, runners: ReadonlyArray<Candidate>): Choice => {
  const serving = runners.filter((runner) => runner.model === model && !runner.draining)
  if (serving.length === 0) {
    return { _tag: "NoRunner", models: [...new Set(runners.filter((r) => !r.draining).map((r) => r.model))].sort() }
  }
  const room = serving
    .filter((runner) => runner.load < runner.capacity)
    .sort((a, b) => a.load / a.capacity - b.load / b.capacity || a.load - b.load || (a.id < b.id ? -1 : 1))
  if (room.length === 0) {
    return {
      _tag: "NoCapacity",
      runners: serving.length,
      capacity: serving.reduce((sum, runner) => sum + runner.capacity, 0),
      load: serving.reduce((sum, runner) => sum + runner.load, 0)
    }
  }
  return { _tag: "Placed", runner: room[0]! }
}
