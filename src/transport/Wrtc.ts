/**
 * The WebRTC engine, `@roamhq/wrtc` (libwebrtc for Node: VP8, pacing, congestion control, retransmission), loaded
 * on first use so a server whose clients never ask for WebRTC does not load the native module.
 */
import { Data, Effect } from "effect"
import { createRequire } from "node:module"
import * as FieldTrials from "./FieldTrials.js"

/** The module's shape as this transport uses it. */
export type Engine = typeof import("@roamhq/wrtc")

/** The native module could not be loaded (an unsupported platform, a broken install). */
export class Unavailable extends Data.TaggedError("WrtcUnavailable")<{ readonly message: string }> {}

const require = createRequire(import.meta.url)
let loaded: Engine | Unavailable | undefined

/** The engine, loaded once per process. */
export const load: Effect.Effect<Engine, Unavailable> = Effect.suspend(() => {
  if (loaded === undefined) {
    try {
      loaded = require("@roamhq/wrtc") as Engine
    } catch (error) {
      loaded = new Unavailable({
        message: `WebRTC is unavailable on this server: @roamhq/wrtc failed to load (${
          error instanceof Error ? error.message : String(error)
        })`
      })
    }
  }
  return loaded instanceof Unavailable ? Effect.fail(loaded) : Effect.succeed(loaded)
})

const reported = new Set<string>()

/**
 * The engine with libwebrtc's field trials set (`FieldTrials.install`, process-wide: the first trials a process sets
 * stay). When they cannot be set, WebRTC works without them and the reason is logged once.
 */
export const loadWith = (trials: string): Effect.Effect<Engine, Unavailable> =>
  Effect.tap(load, () => {
    const outcome = FieldTrials.install(trials)
    if (outcome._tag !== "Failed" || reported.has(outcome.reason)) return Effect.void
    reported.add(outcome.reason)
    return Effect.logWarning(`libwebrtc field trials not set (${trials}): ${outcome.reason}`)
  })
