/**
 * The stand-in for the cron under `wrangler dev` (scripts/lib/local-wrangler.ts), against a server on 127.0.0.1 that
 * plays wrangler's `/cdn-cgi/handler/scheduled`: it asks again and again, one request at a time, and not after stop.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, describe, expect, it } from "vitest"
import { startLocalCron } from "../../scripts/lib/local-wrangler.js"
import { eventually } from "../support/eventually.js"
import { sleep } from "../support/processes.js"

const paths: Array<string> = []
let open = 0
let mostOpen = 0
const server = createServer((request, response) => {
  paths.push(request.url ?? "")
  mostOpen = Math.max(mostOpen, ++open)
  // Slower than the interval: a tick while one is still out must not send another.
  setTimeout(() => {
    open--
    response.end("ok")
  }, 120)
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("startLocalCron", () => {
  it("asks wrangler dev for a scheduled event on every tick, one at a time, until stopped", async () => {
    const stop = startLocalCron(baseUrl, 50)
    await eventually("three scheduled events", () => (paths.length >= 3 ? true : undefined), 5_000)
    stop()
    await sleep(200)
    const seen = paths.length
    await sleep(300)
    expect(paths.length).toBe(seen)
    expect(new Set(paths)).toEqual(new Set(["/cdn-cgi/handler/scheduled"]))
    expect(mostOpen).toBe(1)
  })
})
