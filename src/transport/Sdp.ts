/**
 * The few edits the server makes to session descriptions, as plain text functions: drop the client's `.local` mDNS
 * host candidates (libwebrtc in Node cannot resolve them), cap the video bitrate with `b=AS:` in the offer (the
 * remote description caps what the server sends), and state the data channel's message limit in the answer.
 */

const split = (sdp: string) => sdp.split(/\r?\n/).filter((line, i, lines) => line !== "" || i < lines.length - 1)
const join = (lines: ReadonlyArray<string>) => lines.join("\r\n").replace(/(\r\n)*$/, "\r\n")

/** The media sections of a description: the session part, then one array of lines per `m=` section. */
const sections = (lines: ReadonlyArray<string>) => {
  const out: Array<Array<string>> = [[]]
  for (const line of lines) {
    if (line.startsWith("m=")) out.push([])
    out[out.length - 1]!.push(line)
  }
  return out
}

/** The `a=mid:` of a media section. */
const midOf = (section: ReadonlyArray<string>) => section.find((line) => line.startsWith("a=mid:"))?.slice(6).trim()

/** Removes ICE candidates whose address is an mDNS name (`….local`). */
export const stripMdnsCandidates = (sdp: string): string =>
  join(split(sdp).filter((line) => !/^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /i.test(line)))

/** Sets `b=AS:<kbps>` on the media sections with the given mids (replacing any bandwidth line there). */
export const capBitrate = (sdp: string, mids: ReadonlyArray<string>, kbps: number): string =>
  join(
    sections(split(sdp)).flatMap((section, i) => {
      const mid = midOf(section)
      if (i === 0 || mid === undefined || !mids.includes(mid)) return section
      const kept = section.filter((line) => !line.startsWith("b=AS:") && !line.startsWith("b=TIAS:"))
      // b= goes after the c= line (RFC 4566 order: m, i, c, b, ...)
      const at = kept.findIndex((line) => line.startsWith("c="))
      kept.splice(at < 0 ? 1 : at + 1, 0, `b=AS:${Math.max(1, Math.round(kbps))}`)
      return kept
    })
  )

/** Sets `a=max-message-size` of the data channel's section (the SDK refuses to send bigger messages). */
export const setMaxMessageSize = (sdp: string, bytes: number): string =>
  join(
    sections(split(sdp)).flatMap((section, i) => {
      if (i === 0 || !section[0]!.startsWith("m=application")) return section
      return [...section.filter((line) => !line.startsWith("a=max-message-size:")), `a=max-message-size:${bytes}`]
    })
  )

/** The mids of the description's media sections, with each section's kind (`video`, `audio`, `application`). */
export const media = (sdp: string): ReadonlyArray<{ readonly mid: string; readonly kind: string }> =>
  sections(split(sdp)).slice(1).flatMap((section) => {
    const mid = midOf(section)
    const kind = section[0]!.slice(2).split(" ")[0] ?? ""
    return mid === undefined ? [] : [{ mid, kind }]
  })

/** Whether the description carries at least one ICE candidate (a non-trickle description must). */
export const hasCandidates = (sdp: string): boolean => /^a=candidate:/m.test(sdp)

/** The video codecs that take libwebrtc's `x-google-*-bitrate` parameters. */
const bitrateCodecs = /^(VP8|VP9|AV1|H264|H265)$/i

/**
 * Bounds congestion control's video bitrate estimate: sets libwebrtc's `x-google-min-bitrate`,
 * `x-google-start-bitrate` and `x-google-max-bitrate` (kbit/s) on every video codec of the sections with the given
 * mids (an existing `fmtp` line gets them appended, replacing earlier ones; a codec without one gets one). The start
 * is kept between the bounds.
 */
export const setBitrates = (
  sdp: string,
  mids: ReadonlyArray<string>,
  kbps: { readonly min: number; readonly initial: number; readonly max: number }
): string => {
  const min = Math.max(1, Math.round(Math.min(kbps.min, kbps.max)))
  const max = Math.max(min, Math.round(kbps.max))
  const initial = Math.min(max, Math.max(min, Math.round(kbps.initial)))
  const params = `x-google-min-bitrate=${min};x-google-start-bitrate=${initial};x-google-max-bitrate=${max}`
  return join(
    sections(split(sdp)).flatMap((section, i) => {
      const mid = midOf(section)
      if (i === 0 || mid === undefined || !mids.includes(mid) || !section[0]!.startsWith("m=video")) return section
      const types = section.flatMap((line) => {
        const match = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line)
        return match !== null && bitrateCodecs.test(match[2]!) ? [match[1]!] : []
      })
      const out: Array<string> = []
      for (const line of section) {
        const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line)
        if (fmtp !== null && types.includes(fmtp[1]!)) {
          const kept = fmtp[2]!.split(";").filter((p) =>
            p.trim() !== "" && !/^x-google-(min|start|max)-bitrate=/.test(p.trim())
          )
          out.push(`a=fmtp:${fmtp[1]} ${[...kept, params].join(";")}`)
          continue
        }
        out.push(line)
        const rtpmap = /^a=rtpmap:(\d+) /.exec(line)
        if (
          rtpmap !== null && types.includes(rtpmap[1]!) && !section.some((l) => l.startsWith(`a=fmtp:${rtpmap[1]} `))
        ) {
          out.push(`a=fmtp:${rtpmap[1]} ${params}`)
        }
      }
      return out
    })
  )
}

/**
 * The codec each video section of a description sends or receives first (its first payload type's `rtpmap` name,
 * e.g. `VP9`), by mid: what an answer negotiated.
 */
export const videoCodecs = (sdp: string): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  for (const section of sections(split(sdp)).slice(1)) {
    const mid = midOf(section)
    const [kind, , , first] = section[0]!.slice(2).split(" ")
    if (mid === undefined || kind !== "video" || first === undefined) continue
    const name = section.map((line) => new RegExp(`^a=rtpmap:${first} ([^/]+)/`).exec(line)).find((m) => m !== null)
    if (name) out.set(mid, name[1]!)
  }
  return out
}

/**
 * Puts the named video codecs first, in the given order, in the `m=` lines of the sections with the given mids (the
 * other payload types keep their order after them). libwebrtc as the answerer sends with the offer's first codec of
 * those it negotiated, whatever order its answer lists them in, so the server's preference is written into the offer
 * before it is applied.
 */
export const preferCodecs = (sdp: string, mids: ReadonlyArray<string>, names: ReadonlyArray<string>): string =>
  join(
    sections(split(sdp)).flatMap((section, i) => {
      const mid = midOf(section)
      if (i === 0 || mid === undefined || !mids.includes(mid) || !section[0]!.startsWith("m=video")) return section
      const [m, port, proto, ...types] = section[0]!.split(" ")
      const nameOf = (type: string) =>
        section.map((line) => new RegExp(`^a=rtpmap:${type} ([^/]+)/`).exec(line)).find((match) => match !== null)?.[1]
          ?.toUpperCase()
      const first = names.flatMap((name) => types.filter((type) => nameOf(type) === name.toUpperCase()))
      const ordered = [...first, ...types.filter((type) => !first.includes(type))]
      return [[m, port, proto, ...ordered].join(" "), ...section.slice(1)]
    })
  )
