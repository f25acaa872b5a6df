/**
 * Input tracks (a viewer's webcam): the seam between the WebRTC transport, which decodes what the client sends, and
 * the session side, which gives the model the latest frame (`ctx.input("webcam")`). The transport hands every
 * decoded frame to the `Inputs` service, if one is provided; the frame stays I420 until someone asks for RGB, so a
 * frame the model never reads is never converted.
 */
import { type Clock, Context, Effect, Exit } from "effect"
import * as Input from "../model/Input.js"
import type * as Model from "../model/Model.js"
import * as WireError from "../protocol/WireError.js"
import type * as Session from "../session/Session.js"
import * as I420 from "./I420.js"
import type * as WebRtcPeer from "./WebRtcPeer.js"

/** One decoded input frame. */
export interface InputFrame {
  /** The capability track it came on (e.g. `webcam`). */
  readonly track: string
  readonly width: number
  readonly height: number
  /** When the server received it (epoch ms, Effect's `Clock`). */
  readonly receivedAt: number
  /** The frame as decoded: I420, `width * height * 1.5` bytes (a fresh buffer per frame, from the decoder). */
  readonly i420: Uint8Array
  /** The frame as packed RGB (`height x width x 3`, like the model's own frames); converted on first call, cached. */
  readonly rgb: () => Uint8Array
}

/** What the session side provides: which input tracks a session accepts, and where their frames go. */
export interface Service {
  /** The input tracks (`direction: "sendonly"`, from the client's side, as Reactor's capabilities list them). */
  readonly tracks: ReadonlyArray<WebRtcPeer.Track>
  /**
   * Receives each decoded frame of a session's input track, synchronously, in the track's order. Must not throw; a
   * refusal it returns is sent to the client once per track and code (then its frames are dropped quietly).
   */
  readonly deliver: (session: Session.Session, frame: InputFrame) => WireError.WireError | void
  /** The largest frame side accepted; default `maxDimension`. */
  readonly maxDimension?: number
}

/** The input service tag; without it the server accepts no input tracks. */
export class Inputs extends Context.Tag("effect-reactor/transport/Inputs")<Inputs, Service>() {}

/**
 * The session side as the model declares it (`Model.make({ inputs })`): its input tracks, and each frame handed to the
 * session (`Session.pushInput`) as RGB, checked there against the declaration; `undefined` for a model without inputs.
 */
export const fromModel = (model: Pick<Model.Declared, "inputs">): Service | undefined => {
  const names = Object.keys(model.inputs)
  if (names.length === 0) return undefined
  return {
    tracks: names.map((name) => ({ name, kind: "video", direction: "sendonly" })),
    deliver: (session, frame) => {
      const exit = Effect.runSyncExit(session.pushInput(frame.track, {
        width: frame.width,
        height: frame.height,
        data: frame.rgb()
      }))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        return WireError.make(error.code, error.message, { track: error.track })
      }
    }
  }
}

/**
 * The largest input frame side accepted by default: the most any declared input accepts (`Input.maxSide`); a bigger
 * frame is dropped here, before its conversion, with an error to the client. The model's own limits per track are
 * checked by the session (`Input.check`).
 */
export const maxDimension = Input.maxSide

/**
 * What a peer does with each decoded frame of a session's input track: checks its size (one `input_too_large` error
 * per track, via `refuse`, then silence), and hands it to the service with its RGB conversion deferred.
 */
export const receiver = (
  inputs: Service,
  session: Session.Session,
  i420ToRgba: I420.I420ToRgba,
  /** Answers the client with an error (the connection's `refuse`). */
  refuse: (error: WireError.WireError) => void,
  /** Where `receivedAt` comes from. */
  clock: Clock.Clock
) => {
  const refused = new Set<string>()
  const limit = inputs.maxDimension ?? maxDimension
  const toRgb = I420.reader(i420ToRgba)
  return (track: string, frame: I420.I420Frame) => {
    const { height, width } = frame
    if (width > limit || height > limit) {
      if (!refused.has(track)) {
        refused.add(track)
        refuse(WireError.make(
          "input_too_large",
          `input track ${
            JSON.stringify(track)
          } sends ${width}x${height} frames; the limit is ${limit} on either side: they are dropped`,
          { track, width, height, limit }
        ))
      }
      return
    }
    let rgb: Uint8Array | undefined
    try {
      const error = inputs.deliver(session, {
        track,
        width,
        height,
        receivedAt: clock.unsafeCurrentTimeMillis(),
        i420: frame.data,
        rgb: () => (rgb ??= toRgb(frame))
      })
      // One answer per track and code: a camera sends 30 frames a second, each refused the same way.
      if (error !== undefined && !refused.has(`${track}\u0000${error.code}`)) {
        refused.add(`${track}\u0000${error.code}`)
        refuse(error)
      }
    } catch {
      // the session side's failure is its own: the transport goes on
    }
  }
}
