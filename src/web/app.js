/**
 * The effect-reactor controller page: starts (or resumes) a session, shows its video, renders its commands as
 * controls, binds keys, and shows the runtime's errors and live stats. Plain browser JS, no build step; the wire
 * protocol is docs/PROTOCOL.md. One module per concern: the shared state (page.js), the session's life (session.js),
 * the socket and reconnection (socket.js), commands (commands.js), latency (latency.js), the camera (cameraButton.js,
 * camera.js), the binary frame header (frameHeader.js). This one wires the buttons and boots.
 */
import { toggleCamera } from "./cameraButton.js"
import { byId } from "./dom.js"
import * as latency from "./latency.js"
import { boot, startSession, stop } from "./session.js"

byId("stop").addEventListener("click", stop)
byId("camera").addEventListener("click", toggleCamera)
byId("restart").addEventListener("click", startSession)
latency.showFigures()
boot()
