// The test page: Reactor's official React components as a Reactor app would use them, and a probe that puts the
// SDK's status, session id and model messages on `window.sdk` for the test. `?webcam=<track>` adds the SDK's
// WebcamStream publishing the camera on that input track. Bundled by test/sdk/Bundle.ts.
import React from "react"
import { createRoot } from "react-dom/client"
import {
  ReactorController,
  ReactorProvider,
  ReactorView,
  useReactor,
  useReactorInternalMessage,
  useReactorMessage,
  WebcamStream
} from "@reactor-team/js-sdk"

const h = React.createElement
window.sdk = { status: "none", sessionId: null, messages: [], runtime: [], disconnect: null }

function Probe() {
  const { disconnect, sessionId, status } = useReactor((state) => ({
    status: state.status,
    sessionId: state.sessionId,
    disconnect: state.disconnect
  }))
  React.useEffect(() => {
    window.sdk.status = status
    window.sdk.sessionId = sessionId ?? null
    window.sdk.disconnect = () => disconnect(false)
  }, [status, sessionId, disconnect])
  useReactorMessage((message) => window.sdk.messages.push(message))
  useReactorInternalMessage((message) => {
    if (message?.type === "error" || message?.type === "state") window.sdk.runtime.push(message)
  })
  return h("div", { id: "status" }, status)
}

const webcam = new URLSearchParams(location.search).get("webcam")
// `?api=/sessions/<id>/watchers/<key>`: the SDK as a second viewer (a watcher) of a running session
const api = new URLSearchParams(location.search).get("api")
// `?coordinator=<url>&jwt=<token>`: the SDK out of local mode, its apiUrl at a coordinator (test/cluster/)
const coordinator = new URLSearchParams(location.search).get("coordinator")
const jwt = new URLSearchParams(location.search).get("jwt")

function App() {
  return h(
    ReactorProvider,
    {
      modelName: "web-colors",
      local: coordinator === null,
      apiUrl: coordinator ?? location.origin + (api ?? ""),
      jwtToken: coordinator === null ? "local" : jwt,
      connectOptions: { autoConnect: true }
    },
    h(Probe),
    h(ReactorView, { width: 320, height: 192 }),
    h(ReactorController),
    webcam ? h(WebcamStream, { track: webcam, className: "webcam", style: { width: 320, height: 180 } }) : null
  )
}

createRoot(document.getElementById("root")).render(h(App))
