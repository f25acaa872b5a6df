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
