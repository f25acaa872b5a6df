// The playout-delay test page: the official SDK's ReactorView, and a probe on `window.latency`: the status, the answer
// the SDK's peer applied, and that peer's inbound video stats (Chromium's jitter buffer). Bundled by test/sdk/Bundle.ts.
import React from "react"
import { createRoot } from "react-dom/client"
import { ReactorProvider, ReactorView, useReactor } from "@reactor-team/js-sdk"

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
window.latency = { status: "none" }

/** The answer the SDK's peer applied. */
window.latency.answer = () => peers.at(-1)?.remoteDescription?.sdp ?? null

/** Chromium's inbound video stats of the SDK's peer (totals since the start). */
window.latency.video = async () => {
  const pc = peers.at(-1)
  if (!pc) return null
  for (const stat of (await pc.getStats()).values()) {
    if (stat.type === "inbound-rtp" && stat.kind === "video") {
      return {
        framesDecoded: stat.framesDecoded ?? 0,
        jitterBufferEmittedCount: stat.jitterBufferEmittedCount ?? 0,
        jitterBufferTargetDelay: stat.jitterBufferTargetDelay ?? 0
      }
    }
  }
  return null
}

function Probe() {
  const status = useReactor((state) => state.status)
  React.useEffect(() => {
    window.latency.status = status
  }, [status])
  return h("div", { id: "status" }, status)
}

function App() {
  return h(
    ReactorProvider,
    { modelName: "latency", local: true, apiUrl: location.origin, jwtToken: "local", connectOptions: { autoConnect: true } },
    h(Probe),
    h(ReactorView, { width: 320, height: 180 })
  )
}

createRoot(document.getElementById("root")).render(h(App))
