/**
 * The WebRTC engine, `@roamhq/wrtc` (libwebrtc for Node: VP8, pacing, congestion control, retransmission), loaded
 * on first use so a server whose clients never ask for WebRTC does not load the native module.
 */
import { Data, Effect } from "effect"
import { createRequire } from "node:module"

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
