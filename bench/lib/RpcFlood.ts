/**
 * A flooding RPC client, in a process of its own: `node --import tsx bench/lib/RpcFlood.ts <ws url> <ms> [per]`
 * sends valid `set` requests to a session's `@effect/rpc` transport in messages of `per` requests each (default
 * 1000, as @effect/rpc's msgpack framing allows: one msgpack value after another), as fast as the socket takes them
 * for `ms` from the line `flooding` on stderr, then prints `{sent, acked, rateLimited, otherErrors}` as one JSON line
 * and exits.
 */
import { RpcSerialization } from "@effect/rpc"
import WebSocket from "ws"

const [url, duration, perArg] = process.argv.slice(2)
const per = Number(perArg ?? 1000)
const ws = new WebSocket(url!, { perMessageDeflate: false })
const encoder = RpcSerialization.msgPack.unsafeMake()
const decoder = RpcSerialization.msgPack.unsafeMake()
const counts = { sent: 0, acked: 0, rateLimited: 0, otherErrors: 0 }
let stopAt = Infinity

ws.on("message", (data: Buffer) => {
  for (const answer of decoder.decode(new Uint8Array(data)) as Array<any>) {
    if (answer._tag !== "Exit") continue
    if (answer.exit._tag === "Success") counts.acked++
    else if (answer.exit.cause?.error?.code === "rate_limited") counts.rateLimited++
    else counts.otherErrors++
  }
})
ws.on("error", (error) => {
  process.stderr.write(`rpc flood: ${error.message}\n`)
  process.exit(1)
})
ws.on("open", () => {
  // the measuring side starts counting at this line
  process.stderr.write("flooding\n")
  stopAt = performance.now() + Number(duration)
  pump()
})

const message = () => {
  const parts: Array<Uint8Array> = []
  for (let i = 0; i < per; i++) {
    counts.sent++
    parts.push(encoder.encode({
      _tag: "Request",
      id: String(counts.sent),
      tag: "set",
      payload: { value: counts.sent & 0xffff },
      headers: []
    }) as Uint8Array)
  }
  return Buffer.concat(parts)
}

const pump = () => {
  if (performance.now() >= stopAt) {
    process.stdout.write(JSON.stringify(counts) + "\n")
    ws.terminate()
    process.exit(0)
  }
  // keep the socket's send buffer full, no fuller: the server's reading speed sets the pace
  while (ws.bufferedAmount < 256 * 1024) ws.send(message())
  setImmediate(pump)
}
