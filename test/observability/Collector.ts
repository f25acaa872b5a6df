/**
 * An OTLP/HTTP JSON receiver on loopback for tests (an in-memory collector): it keeps every span it is sent, with its
 * resource's `reactor.role`, so a test reads the traces a server exported from the outside.
 */
import { createServer, type Server as HttpServer } from "node:http"

export interface Span {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string | undefined
  readonly name: string
  readonly attributes: Record<string, unknown>
  readonly role: string
}

type KeyValue = { key: string; value: { stringValue?: string; intValue?: number; boolValue?: boolean } }

/** Starts an OTLP/HTTP JSON receiver: every span exported to it, with its resource's `reactor.role`. */
export const collector = () =>
  new Promise<{ readonly server: HttpServer; readonly url: string; readonly spans: Array<Span> }>((resolve) => {
    const spans: Array<Span> = []
    const attributes = (list: ReadonlyArray<KeyValue> | undefined) =>
      Object.fromEntries(
        (list ?? []).map((kv) => [kv.key, kv.value.stringValue ?? kv.value.intValue ?? kv.value.boolValue])
      )
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: Array<{
            resource: { attributes: Array<KeyValue> }
            scopeSpans: Array<{ spans: Array<Omit<Span, "attributes" | "role"> & { attributes: Array<KeyValue> }> }>
          }>
        }
        for (const resource of body.resourceSpans) {
          const role = String(attributes(resource.resource.attributes)["reactor.role"])
          for (const scope of resource.scopeSpans) {
            for (const span of scope.spans) spans.push({ ...span, attributes: attributes(span.attributes), role })
          }
        }
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{}")
      })
    })
    server.listen(
      0,
      "127.0.0.1",
      () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans })
    )
  })

/** Whether `ancestor` is `span`'s parent, or its parent's, and so on. */
export const descends = (spans: ReadonlyArray<Span>, span: Span, ancestor: Span): boolean => {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  let at: Span | undefined = span
  for (let depth = 0; at !== undefined && depth < 50; depth++) {
    if (at.parentSpanId === ancestor.spanId) return true
    at = at.parentSpanId === undefined ? undefined : byId.get(at.parentSpanId)
  }
  return false
}

/** Runs `f` with environment variables set (as a server and the model hosts it spawns read them), then restores them. */
export const withEnv = async <A>(
  vars: Readonly<Record<string, string>>,
  f: () => Promise<A>
): Promise<A> => {
  const before = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]))
  Object.assign(process.env, vars)
  try {
    return await f()
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}
