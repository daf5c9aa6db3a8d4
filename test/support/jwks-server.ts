/**
 * An identity provider's key-set endpoint on 127.0.0.1 that a test can break on purpose: it serves the JWKS, or
 * answers 500, an HTML page, a JSON document that is not a key set, resets the connection, or never answers.
 * It counts the requests it receives, and close() ends every connection, hanging ones included.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

export type JwksMode = "ok" | "500" | "html" | "not-a-jwks" | "reset" | "hang"

export interface JwksServer {
  readonly url: URL
  /** How many requests for the key set arrived so far. */
  readonly requests: number
  mode: JwksMode
  keys: { readonly keys: ReadonlyArray<unknown> }
  /** Resolves once `count` requests have arrived (or rejects after `withinMs`). */
  readonly waitForRequests: (count: number, withinMs?: number) => Promise<void>
  readonly close: () => Promise<void>
}

export const startJwksServer = async (keys: { readonly keys: ReadonlyArray<unknown> }): Promise<JwksServer> => {
  const sockets = new Set<Socket>()
  let requests = 0
  const state: { mode: JwksMode; keys: { readonly keys: ReadonlyArray<unknown> } } = { mode: "ok", keys }
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests++
    switch (state.mode) {
      case "ok":
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(state.keys))
        return
      case "500":
        response.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal"}')
        return
      case "html":
        response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>Maintenance</title>")
        return
      case "not-a-jwks":
        response.writeHead(200, { "content-type": "application/json" }).end('{"keys":"none today"}')
        return
      case "reset":
        request.socket.destroy()
        return
      case "hang":
        // Never answers; close() ends the connection.
        return
    }
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: new URL(`http://127.0.0.1:${port}/.well-known/jwks.json`),
    get requests() {
      return requests
    },
    get mode() {
      return state.mode
    },
    set mode(mode: JwksMode) {
      state.mode = mode
    },
    get keys() {
      return state.keys
    },
    set keys(next) {
      state.keys = next
    },
    waitForRequests: async (count, withinMs = 5_000) => {
      const deadline = Date.now() + withinMs
      while (requests < count) {
        if (Date.now() > deadline) throw new Error(`${requests} of ${count} key-set requests after ${withinMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
