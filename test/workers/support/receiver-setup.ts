/**
 * The Workers tests' webhook receiver, a real HTTP server on 127.0.0.1 started in Node before the tests (vitest's
 * globalSetup) and stopped after them: workerd cannot listen, but the Worker under test reaches the loopback
 * (Miniflare's network allows it), so its relay sends real requests here. A test names its own mailbox in the path:
 *
 *   POST /hooks/<box>?status=<n>   kept under <box>, answered <n> (default 204)
 *   POST /hooks/<box>?fail=<n>     kept under <box>; the first <n> requests to <box> are answered 500, later ones 204
 *   POST /hooks/<box>?delay=<ms>   kept under <box> at once, answered after <ms> (a receiver that hangs)
 *   GET  /received/<box>           what <box> was sent, as JSON: [{ headers, body, n }, …], n counting every request
 *                                  to any box, so tests can compare the order across boxes
 *
 * Its address reaches the Worker as the binding WEBHOOK_RECEIVER (vitest.workers.config.mts, through provide/inject).
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    readonly webhookReceiver: string
  }
}

/** Longer than any run of the Workers suite. */
const LIFETIME_MS = 15 * 60_000

export default async function setup(project: TestProject) {
  const boxes = new Map<string, Array<{ headers: Record<string, string>; body: string; n: number }>>()
  let arrivals = 0
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1")
    const [, kind, box] = url.pathname.split("/")
    if (request.method === "GET" && kind === "received" && box !== undefined) {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(boxes.get(box) ?? []))
      return
    }
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      if (request.method !== "POST" || kind !== "hooks" || box === undefined) {
        response.writeHead(404).end()
        return
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(request.headers)) if (typeof value === "string") headers[name] = value
      const kept = [...(boxes.get(box) ?? []), { headers, body: Buffer.concat(chunks).toString("utf8"), n: ++arrivals }]
      boxes.set(box, kept)
      const failing = kept.length <= Number(url.searchParams.get("fail") ?? 0)
      const answer = () => {
        if (!response.destroyed) response.writeHead(failing ? 500 : Number(url.searchParams.get("status") ?? 204)).end()
      }
      setTimeout(answer, Number(url.searchParams.get("delay") ?? 0)).unref()
    })
  })
  // Bounded even if the run never tears down: a request gets 10 s, the server at most LIFETIME_MS, and neither keeps
  // Node alive.
  server.requestTimeout = 10_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  server.unref()
  const stop = () =>
    new Promise<void>((resolve) => {
      clearTimeout(deadline)
      server.closeAllConnections()
      server.close(() => resolve())
    })
  const deadline = setTimeout(() => void stop(), LIFETIME_MS).unref()
  project.provide("webhookReceiver", `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  return stop
}
