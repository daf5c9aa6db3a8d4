/**
 * A real webhook receiver for tests: an HTTP server on 127.0.0.1 (a free port) that keeps every request exactly as it
 * arrived (method, path, headers, body bytes as text) and answers as the test says: a status, after a delay, or by
 * resetting the connection. It verifies nothing itself: the tests verify with the standardwebhooks package.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedWebhook {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** How the receiver answered it. */
  readonly answer: Answer
}

export type Answer =
  | { readonly status: number; readonly body?: string; readonly delayMs?: number }
  | { readonly reset: true }

/** What to answer the n-th request (0-based) carrying webhook-id `id`, and the n-th request overall. */
export type Responder = (request: { readonly id: string; readonly nth: number; readonly total: number }) => Answer

export interface Receiver {
  readonly url: string
  readonly port: number
  readonly received: Array<ReceivedWebhook>
  /** Replaces how it answers from now on. */
  respond: (responder: Responder) => void
  /** The requests that carried `webhook-id: id`. */
  readonly withId: (id: string) => ReadonlyArray<ReceivedWebhook>
  readonly close: () => Promise<void>
}

const headersOf = (request: IncomingMessage): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return headers
}

export const startReceiver = async (responder: Responder = () => ({ status: 204 })): Promise<Receiver> => {
  const received: Array<ReceivedWebhook> = []
  const perId = new Map<string, number>()
  let answer = responder
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const headers = headersOf(request)
      const id = headers["webhook-id"] ?? ""
      const nth = perId.get(id) ?? 0
      perId.set(id, nth + 1)
      const reply = answer({ id, nth, total: received.length })
      received.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
        answer: reply
      })
      if ("reset" in reply) {
        request.socket.destroy()
        return
      }
      const send = () => {
        if (response.destroyed) return
        response.writeHead(reply.status, { "content-type": "text/plain" })
        response.end(reply.body ?? "")
      }
      if (reply.delayMs === undefined) send()
      else setTimeout(send, reply.delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    respond: (next) => (answer = next),
    withId: (id) => received.filter((r) => r.headers["webhook-id"] === id),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
