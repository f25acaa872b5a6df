/**
 * The camera button, for a model that declares a video input track: shown when the capabilities list one (its index
 * in `capabilities.tracks` is the frames' `track`), it starts and stops sending the camera (camera.js) on the socket.
 */
import { inputTrackIndex, startCamera } from "./camera.js"
import { byId } from "./dom.js"
import { hook, state } from "./page.js"
import * as view from "./view.js"

const camera = { track: -1, stop: null }

/** Shows the button when the model has a video input track. */
export function offerCamera(tracks) {
  camera.track = inputTrackIndex(tracks)
  byId("camera").hidden = camera.track < 0 || !navigator.mediaDevices?.getUserMedia
}

export async function toggleCamera() {
  const button = byId("camera")
  if (camera.stop) {
    camera.stop()
    camera.stop = null
    hook.camera = false
    button.textContent = "Camera"
    return
  }
  button.disabled = true
  try {
    camera.stop = await startCamera({ track: camera.track, socket: () => state.ws })
    hook.camera = true
    button.textContent = "Stop camera"
    view.log("sending the camera to the model")
  } catch (error) {
    view.notice(`The camera could not start: ${error?.message ?? error}`, { error: true })
  } finally {
    button.disabled = false
  }
}
