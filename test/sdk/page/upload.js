// The upload test page: the official SDK's ReactorProvider and ReactorView, and a probe that exposes the SDK's own
// `uploadFile` and `sendCommand` on `window.sdk`: `window.sdk.upload(bytes, type, name, command, param)` uploads a File
// and sends the command with the returned FileRef, as a Reactor app does. Bundled by test/sdk/Bundle.ts.
import React from "react"
import { createRoot } from "react-dom/client"
import { ReactorProvider, ReactorView, useReactor, useReactorMessage } from "@reactor-team/js-sdk"

const h = React.createElement
window.sdk = { status: "none", sessionId: null, messages: [], errors: [], upload: null }

function Probe() {
  const { sendCommand, sessionId, status, uploadFile } = useReactor((state) => ({
    status: state.status,
    sessionId: state.sessionId,
    uploadFile: state.uploadFile,
    sendCommand: state.sendCommand
  }))
  React.useEffect(() => {
    window.sdk.status = status
    window.sdk.sessionId = sessionId ?? null
    window.sdk.upload = async (bytes, type, name, command, param) => {
      const file = new File([new Uint8Array(bytes)], name, { type })
      const ref = await uploadFile(file)
      await sendCommand(command, { [param]: ref })
      return { uploadId: ref.uploadId, name: ref.name, mimeType: ref.mimeType, size: ref.size }
    }
  }, [status, sessionId, uploadFile, sendCommand])
  useReactorMessage((message) => window.sdk.messages.push(message))
  return h("div", { id: "status" }, status)
}

function App() {
  return h(
    ReactorProvider,
    { modelName: "picture-world", local: true, apiUrl: location.origin, jwtToken: "local", connectOptions: { autoConnect: true } },
    h(Probe),
    h(ReactorView, { width: 320, height: 180 })
  )
}

createRoot(document.getElementById("root")).render(h(App))
