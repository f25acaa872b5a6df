// The named-tracks test page: the official SDK's ReactorView showing the track named by `?track=` with the audio
// track `?audio=` playing (unmuted), and a probe on `window.probe`: the status, the runtime messages (per-frame
// metadata), `command(type, data)`, the peer's inbound stats, and the audio track's level read by an AnalyserNode.
// Bundled by test/sdk/Bundle.ts.
import React from "react"
import { createRoot } from "react-dom/client"
import { ReactorProvider, ReactorView, useReactor, useReactorInternalMessage } from "@reactor-team/js-sdk"

// The SDK's peer connections, recorded as it makes them (it calls the global constructor).
const peers = []
const Native = window.RTCPeerConnection
window.RTCPeerConnection = class extends Native {
  constructor(...args) {
    super(...args)
    peers.push(this)
  }
}

const h = React.createElement
const params = new URLSearchParams(location.search)
const track = params.get("track") ?? "main_video"
const audio = params.get("audio") ?? undefined

window.probe = { status: "none", runtime: [], command: null, tracks: [], level: null, inbound: null }

/** Inbound RTP of the SDK's peer: per kind, packets and the video's codec. */
window.probe.inbound = async () => {
  const pc = peers.at(-1)
  if (!pc) return null
  const report = await pc.getStats()
  const out = {}
  for (const stat of report.values()) {
    if (stat.type !== "inbound-rtp") continue
    const codec = stat.codecId ? report.get(stat.codecId) : undefined
    ;(out[stat.kind] ??= []).push({
      mid: stat.mid,
      packetsReceived: stat.packetsReceived ?? 0,
      framesDecoded: stat.framesDecoded ?? 0,
      totalAudioEnergy: stat.totalAudioEnergy ?? 0,
      codec: codec?.mimeType ?? null
    })
  }
  return out
}

function Probe() {
  const { sendCommand, status, tracks } = useReactor((state) => ({
    status: state.status,
    sendCommand: state.sendCommand,
    tracks: state.tracks
  }))
  React.useEffect(() => {
    window.probe.status = status
    window.probe.command = (type, data) => sendCommand(type, data)
    window.probe.tracks = Object.keys(tracks)
    const stream = audio && tracks[audio] ? new MediaStream([tracks[audio]]) : null
    if (stream === null) return
    // the audio's level as heard: the RMS of the analyser's waveform (0 = silence, 1 = full scale)
    const context = new AudioContext()
    const analyser = context.createAnalyser()
    analyser.fftSize = 2048
    context.createMediaStreamSource(stream).connect(analyser)
    const samples = new Float32Array(analyser.fftSize)
    window.probe.level = () => {
      analyser.getFloatTimeDomainData(samples)
      return Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length)
    }
    context.resume()
  }, [status, sendCommand, tracks])
  useReactorInternalMessage((message) => window.probe.runtime.push(message))
  return h("div", { id: "status" }, status)
}

function App() {
  return h(
    ReactorProvider,
    { modelName: "tracks", local: true, apiUrl: location.origin, jwtToken: "local", connectOptions: { autoConnect: true } },
    h(Probe),
    h(ReactorView, { track, ...(audio ? { audioTrack: audio } : {}), muted: false, width: 320, height: 180 })
  )
}

createRoot(document.getElementById("root")).render(h(App))
