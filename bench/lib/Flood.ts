/**
 * A flooding client, in a process of its own (so its sending loop does not share the measuring client's event loop):
 * `node --import tsx bench/lib/Flood.ts <ws url> <ms>` sends valid `set` commands with ids as fast as the socket takes
 * them for `ms` from the line `flooding` on stderr, then prints `{sent, acked, rateLimited, otherErrors}` as one JSON
 * line and exits.
 */
import WebSocket from "ws"

const [url, duration] = process.argv.slice(2)
const ws = new WebSocket(url!, { perMessageDeflate: false })
const counts = { sent: 0, acked: 0, rateLimited: 0, otherErrors: 0 }
let stopAt = Infinity

ws.on("message", (data: Buffer, binary) => {
  if (binary) return
  const text = data.toString()
  if (text.includes("\"commandAck\"")) counts.acked++
  else if (text.includes("\"rate_limited\"")) counts.rateLimited++
  else if (text.includes("\"error\"")) counts.otherErrors++
  else if (text.includes("\"sessionReady\"")) {
    // the measuring side starts counting at this line
    process.stderr.write("flooding\n")
    stopAt = performance.now() + Number(duration)
    pump()
  }
})
ws.on("error", (error) => {
  process.stderr.write(`flood: ${error.message}\n`)
  process.exit(1)
})

const pump = () => {
  if (performance.now() >= stopAt) {
    process.stdout.write(JSON.stringify(counts) + "\n")
    ws.terminate()
    process.exit(0)
  }
  // keep the socket's send buffer full, no fuller: the server's reading speed sets the pace
  while (ws.bufferedAmount < 256 * 1024) {
    counts.sent++
    ws.send(
      `{"scope":"application","data":{"type":"set","data":{"value":${counts.sent & 0xffff}},"id":${counts.sent}}}`
    )
  }
  setImmediate(pump)
}
