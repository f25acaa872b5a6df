/**
 * The video codec choice: the configured preference (`WebRtcConfig.videoCodecs`) written into the client's offer
 * (`Sdp.preferCodecs`: libwebrtc as the answerer sends with the offer's first codec it can) and applied to each sending
 * transceiver with `setCodecPreferences`, so the answer lists only those codecs the engine encodes, in that order. The engine's own capabilities decide what is possible (@roamhq/wrtc 0.10: VP8,
 * VP9, AV1; no H264); the helpers it needs (retransmission `rtx`, `red`, `ulpfec`) follow the preferred codecs.
 */
import type * as WebRtcConfig from "../config/WebRtcConfig.js"

/** One codec as `RTCRtpSender.getCapabilities` lists it. */
export interface Capability {
  readonly mimeType: string
  readonly clockRate: number
  readonly channels?: number
  readonly sdpFmtpLine?: string
}

const helpers = new Set(["video/rtx", "video/red", "video/ulpfec", "video/flexfec-03"])

/** The name of a codec capability, as a preference names it (`video/VP9` -> `VP9`). */
export const nameOf = (codec: Capability): string => codec.mimeType.replace(/^video\//i, "").toUpperCase()

/**
 * The engine's codecs ordered by the preference: each preferred codec's entries (all its profiles) in preference
 * order, then the helpers; codecs the preference leaves out are dropped. Empty when the engine encodes none of them.
 */
export const order = (
  capabilities: ReadonlyArray<Capability>,
  preference: ReadonlyArray<WebRtcConfig.VideoCodec>
): ReadonlyArray<Capability> => {
  const chosen = preference.flatMap((name) => capabilities.filter((codec) => nameOf(codec) === name))
  if (chosen.length === 0) return []
  return [...chosen, ...capabilities.filter((codec) => helpers.has(codec.mimeType.toLowerCase()))]
}

/** The preferred codecs the engine cannot encode (to say so once in the log). */
export const missing = (
  capabilities: ReadonlyArray<Capability>,
  preference: ReadonlyArray<WebRtcConfig.VideoCodec>
): ReadonlyArray<WebRtcConfig.VideoCodec> =>
  preference.filter((name) => !capabilities.some((codec) => nameOf(codec) === name))
