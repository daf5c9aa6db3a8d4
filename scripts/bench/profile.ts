/**
 * `[MODE=write|noop|read|health] bun [--cpu-prof-md] scripts/bench/profile.ts [requests] [concurrency]`: the bench
 * workload sent straight to the fetch handler (no HTTP server, no load generator, no log output) over a seeded
 * SQLite file, so a CPU profile shows the handler's own cost. Prints the rate it reached. MODE picks the request:
 * `write` (the bench's UpdatePhoneNumber, default), `noop` (each user's current number: no write), `read`
 * (GET /users/{id}) or `health` (GET /healthz): the differences between them say what each stage costs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { idempotencyHashKeyFromEnv, jwtConfigFromEnv } from "../../src/config.js"
import { makeFetchHandler } from "../../src/handler.js"
import { SqliteBunLive } from "../../src/layers/sqlite-bun.js"
import { seedSqliteFile } from "./seed.js"
import { makeCredentials, makeSequence, makeUsers } from "./workload.js"

const total = Number(process.argv[2] ?? 20_000)
const concurrency = Number(process.argv[3] ?? 32)
const dir = mkdtempSync(join(tmpdir(), "users-api-profile-"))
const credentials = await makeCredentials()
const users = makeUsers(10_000)
const database = join(dir, "users.sqlite")
await seedSqliteFile(database, { apiKeyHash: credentials.apiKeyHash, users })
const handler = makeFetchHandler(
  SqliteBunLive(database, jwtConfigFromEnv(credentials.serverEnv)),
  { log: () => undefined, idempotencyHashKey: idempotencyHashKeyFromEnv(credentials.serverEnv) }
)
const sequence = makeSequence(users)
const seededOf = new Map(users.map((u) => [u.id, u.seeded]))
const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}
const mode = process.env.MODE ?? "write"
let sent = 0
let failed = 0
const worker = async () => {
  while (sent < total) {
    sent++
    const { body, path } = sequence.next()
    const request = mode === "health"
      ? new Request("http://127.0.0.1/healthz")
      : mode === "read"
      ? new Request(`http://127.0.0.1${path.replace("/UpdatePhoneNumber", "")}`, { headers })
      : mode === "noop"
      ? new Request(`http://127.0.0.1${path}`, {
        method: "POST",
        headers,
        body: `{"phoneNumber":"${seededOf.get(path.split("/")[2]!)}"}`
      })
      : new Request(`http://127.0.0.1${path}`, { method: "POST", headers, body })
    const response = await handler.fetch(request)
    if (response.status !== 200) failed++
    await response.arrayBuffer()
  }
}
const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, worker))
const seconds = (performance.now() - started) / 1000
console.log(`${total} requests in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)} req/s, ${failed} not 200`)
await handler.dispose()
rmSync(dir, { recursive: true, force: true })
