/**
 * A bare WebRTC client on `@roamhq/wrtc` for transport tests: it offers the way Reactor's SDK does (a `data` channel,
 * one recvonly video transceiver, non-trickle), posts the offer, polls the answer, and collects what arrives.
 */
import wrtc from "@roamhq/wrtc"

export interface RawPeer {
  readonly pc: RTCPeerConnection
  readonly channel: RTCDataChannel
  readonly received: Array<any>
  /** Frames decoded on the video track. */
  frames: number
  readonly send: (message: unknown) => void
  readonly close: () => void
}

/** A client offer: its SDP and the mapping the SDK would send with it. */
export const offer = async () => {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
  const channel = pc.createDataChannel("data")
  const transceiver = pc.addTransceiver("video", { direction: "recvonly" })
  const description = await pc.createOffer()
  await pc.setLocalDescription(description)
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve()
    const timer = setTimeout(resolve, 3000)
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const mapping = [{ name: "main_video", kind: "video", direction: "recvonly", mid: transceiver.mid! }]
  return { pc, channel, sdp: pc.localDescription!.sdp, mapping }
}

const headers = { "content-type": "application/json", "Reactor-WebRTC-Version": "1.0" }

/** Connects to a session: offer, answer, and an open data channel. */
export const connect = async (
  baseUrl: string,
  sessionId: string,
  method: "POST" | "PUT" = "POST",
  /** Where `sdp_params` is, under the server (default the session's own `/sessions/{id}/transport/webrtc`). */
  path = `/sessions/${sessionId}/transport/webrtc`
): Promise<RawPeer> => {
  const made = await offer()
  const base = `${baseUrl}${path}`
  const posted = await fetch(`${base}/sdp_params`, {
    method,
    headers,
    body: JSON.stringify({
      sdp_offer: made.sdp,
      track_mapping: made.mapping,
      client_info: { sdk_version: "test", sdk_type: "js" }
    })
  })
  if (posted.status !== 202) throw new Error(`sdp_params answered ${posted.status}: ${await posted.text()}`)
  let answer: string | undefined
  for (let i = 0; i < 20 && answer === undefined; i++) {
    const polled = await fetch(`${base}/sdp_params`, { headers })
    if (polled.status === 200) answer = ((await polled.json()) as { sdp_answer: string }).sdp_answer
    else await new Promise((resolve) => setTimeout(resolve, 100))
  }
  if (answer === undefined) throw new Error("no answer")
  const peer: RawPeer = {
    pc: made.pc,
    channel: made.channel,
    received: [],
    frames: 0,
    send: (message) => made.channel.send(typeof message === "string" ? message : JSON.stringify(message)),
    close: () => made.pc.close()
  }
  made.channel.onmessage = (event) => {
    try {
      const parsed = JSON.parse(String(event.data))
      peer.received.push({ scope: parsed.scope, ...parsed.data })
    } catch {
      peer.received.push({ raw: event.data })
    }
  }
  made.pc.ontrack = (event) => {
    const sink = new wrtc.nonstandard.RTCVideoSink(event.track)
    sink.onframe = () => {
      peer.frames++
    }
    made.pc.addEventListener("connectionstatechange", () => {
      if (made.pc.connectionState === "closed") sink.stop()
    })
  }
  await made.pc.setRemoteDescription({ type: "answer", sdp: answer })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the data channel did not open")), 10_000)
    made.channel.addEventListener("open", () => {
      clearTimeout(timer)
      resolve()
    })
  })
  return peer
}
