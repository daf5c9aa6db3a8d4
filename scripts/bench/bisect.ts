/**
 * `bun scripts/bench/bisect.ts [--requests 10000] [--runs 5]`: where a write's time goes, piece by piece. It builds
 * the fetch handler the way src/fetch-handler.ts does, but one piece at a time, from a bare HttpApi app to the whole
 * service, and sends each the bench's UpdatePhoneNumber in-process (32 in flight, as scripts/bench/profile.ts). Every
 * configuration runs `--runs` times, interleaved with the others so that a slower moment of the machine moves all
 * of them, and the fastest run of each is printed (the least disturbed), with the cost each piece adds.
 */
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { WebhookSettings } from "../../src/app/webhooks.js"
import { idempotencyHashKeyFromEnv, jwtConfigFromEnv } from "../../src/config.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { SqliteBunServices } from "../../src/layers/sqlite/bun.js"
import { UserRepo } from "../../src/services/user-repo.js"
import { benchPrincipal, contractOnly, type Fetch, fixedAuth, floor, serviceApp } from "./assemblies.js"
import { seedSqliteFile } from "./seed.js"
import { makeCredentials, makeSequence, makeUsers, ORGANIZATION_ID } from "./workload.js"

const { values } = parseArgs({ options: { requests: { type: "string" }, runs: { type: "string" } } })
const REQUESTS = Number(values.requests ?? 10_000)
const RUNS = Number(values.runs ?? 5)

const dir = mkdtempSync(join(tmpdir(), "users-api-bisect-"))
const credentials = await makeCredentials()
const users = makeUsers(10_000)
const database = join(dir, "users.sqlite")
await seedSqliteFile(database, { apiKeyHash: credentials.apiKeyHash, users })
const jwt = jwtConfigFromEnv(credentials.serverEnv)
const idempotencyHashKey = idempotencyHashKeyFromEnv(credentials.serverEnv)
// No webhook key: the webhook routes are part of the contract, and answer 503 (none is called here).
const store = Layer.merge(
  SqliteBunServices(database, jwt),
  Layer.succeed(WebhookSettings, { deriveSecret: undefined, urlRules: { allowLoopback: false } })
)

// 3.–5. The real handlers: the whole program over a repo that decides nothing (every user is at the number sent),
//       then the real store; with and without the edge and documentation routes.
const stored = (phoneNumber: string) => ({
  user: {
    organizationId: ORGANIZATION_ID,
    id: "u",
    phoneNumber,
    phoneNumberVerified: false,
    erasedAt: null,
    version: 1
  },
  headHash: "0".repeat(64)
})
const sequence = makeSequence(users)
const numbers = new Map<string, string>()
const noWriteRepo = Layer.effect(
  UserRepo,
  Effect.map(UserRepo, (repo) => ({
    ...repo,
    find: (_organizationId: string, userId: string) => Effect.succeed(stored(numbers.get(userId) ?? "") as never)
  }))
).pipe(Layer.provide(store))
const service = makeFetchHandler(store, { log: () => undefined, idempotencyHashKey })

const configurations: ReadonlyArray<readonly [string, Fetch, boolean]> = [
  ["bare HttpApi: one POST route, body read, constant answer", floor(), false],
  [
    "+ this contract and its Authentication middleware, stub Auth",
    contractOnly(Layer.merge(store, fixedAuth(benchPrincipal))),
    false
  ],
  ["+ the real Auth (its caches warm)", contractOnly(store), false],
  [
    "+ the real handlers and program, no write (noop)",
    serviceApp(Layer.merge(store, noWriteRepo), { edge: false, docs: false, idempotencyHashKey }),
    true
  ],
  [
    "+ the edge (ids, problems, log line)",
    serviceApp(Layer.merge(store, noWriteRepo), { edge: true, docs: false, idempotencyHashKey }),
    true
  ],
  [
    "+ /openapi.json and /docs",
    serviceApp(Layer.merge(store, noWriteRepo), { edge: true, docs: true, idempotencyHashKey }),
    true
  ],
  ["+ the store's write (the whole service)", service.fetch, false]
]

const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}

const measure = async (fetch: Fetch, noWrite: boolean, count: number) => {
  let sent = 0
  let failed = 0
  const worker = async () => {
    while (sent < count) {
      sent++
      const { body, path } = sequence.next()
      if (noWrite) numbers.set(path.split("/")[2]!, JSON.parse(body).phoneNumber)
      // The length a client on the wire declares (a Request made here would not carry it).
      const response = await fetch(
        new Request(`http://127.0.0.1${path}`, {
          method: "POST",
          headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
          body
        })
      )
      if (response.status >= 300) failed++
      await response.arrayBuffer()
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: 32 }, worker))
  return { us: ((performance.now() - started) * 1000) / count, failed }
}

const best = configurations.map(() => Infinity)
for (const [, fetch, noWrite] of configurations) await measure(fetch, noWrite, 1_000)
for (let run = 0; run < RUNS; run++) {
  for (const [i, [name, fetch, noWrite]] of configurations.entries()) {
    const { failed, us } = await measure(fetch, noWrite, REQUESTS)
    if (failed > 0) throw new Error(`${name}: ${failed} answers were not 2xx`)
    best[i] = Math.min(best[i]!, us)
  }
}
console.log(`in-process, ${REQUESTS} UpdatePhoneNumber requests per run at 32 in flight, fastest of ${RUNS} runs\n`)
configurations.forEach(([name], i) => {
  const added = i === 0 ? "" : `  (${best[i]! - best[i - 1]! >= 0 ? "+" : ""}${(best[i]! - best[i - 1]!).toFixed(0)})`
  console.log(`${best[i]!.toFixed(0).padStart(5)} µs${added.padEnd(9)}  ${name}`)
})
await service.dispose()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
