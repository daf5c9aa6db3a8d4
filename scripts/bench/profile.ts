/**
 * The handler in-process: the bench's requests sent straight to the fetch handler (no HTTP server, no load
 * generator, no log output) over a seeded SQLite file, so that the time per request is the handler's own and a CPU
 * profile shows where it goes. The modes say what each stage costs:
 *
 * - `bare`: GET /healthz on a bare HttpApi app (one group, HttpApiBuilder.toWebHandler, HttpServer.layerContext,
 *   nothing else): the floor the framework sets for any request, with no target of its own;
 * - `health`: GET /healthz of the service (router, edge middleware, `SELECT 1`);
 * - `read`: GET /users/{id} (authentication from the caches, one indexed read);
 * - `noop`: UpdatePhoneNumber to each user's current number (body, schema, phone parse, read, decision: no write);
 * - `write`: UpdatePhoneNumber to the user's other number, as the bench sends it (as `noop`, plus the audit link
 *   and the transaction);
 * - `hand`: the same writes sent to the hand-written endpoint (handwritten.ts's `handle`: no Effect, jose verifying
 *   every token, one transaction per write) over the same store, its log line silenced as the service's is: the
 *   hand-written baseline without the HTTP server, no target of its own.
 *
 * `bun scripts/bench/profile.ts --modes bare,health,read,noop,write --runs 3 [--requests 10000] [--concurrency 32]
 * [--warmup 1000] [--json]` runs every mode given, the modes one after another within each run (so a noisy machine
 * moves them all), and prints the median µs per request (wall time ÷ requests at that many in flight, i.e.
 * 1e6 ÷ requests/s) of each against its target (BENCHMARKS.md). One handler and one store serve the whole invocation;
 * each mode-run starts with `--warmup` requests that are not counted.
 *
 * The first form still works: `[MODE=write|noop|read|health|bare] bun scripts/bench/profile.ts [requests]
 * [concurrency]` (default write, 20000, 32) runs one mode once, without warm-up, and prints its rate. Either form
 * under `bun --cpu-prof-md` writes a CPU profile of the whole invocation (seeding included) as markdown.
 */
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpServer } from "@effect/platform"
import { Effect, Layer, Schema } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { idempotencyHashKeyFromEnv, jwtConfigFromEnv } from "../../src/config.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { SqliteBunServices } from "../../src/layers/sqlite/bun.js"
import { seedSqliteFile } from "./seed.js"
import { type BenchUser, makeCredentials, makeUsers, median } from "./workload.js"

const MODES = {
  bare: { request: "GET /healthz on a bare HttpApi app (the floor)", targetUs: undefined },
  health: { request: "GET /healthz (router, edge middleware, SELECT 1)", targetUs: 50 },
  read: { request: "GET /users/{id} (cached auth, one read)", targetUs: 100 },
  noop: { request: "UpdatePhoneNumber, the current number (no write)", targetUs: 150 },
  write: { request: "UpdatePhoneNumber, the other number (a write)", targetUs: 250 },
  hand: { request: "the same write to the hand-written endpoint (no Effect)", targetUs: undefined }
} as const
type Mode = keyof typeof MODES
const isMode = (name: string): name is Mode => Object.hasOwn(MODES, name)

const usage =
  "usage: bun scripts/bench/profile.ts --modes bare,health,read,noop,write,hand [--runs 3] [--requests 10000] " +
  "[--concurrency 32] [--warmup 1000] [--json]\n   or: [MODE=write|noop|read|health|bare|hand] bun scripts/bench/profile.ts " +
  "[requests] [concurrency]"
const fail = (message: string): never => {
  console.error(`profile: ${message}\n${usage}`)
  process.exit(2)
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        modes: { type: "string" },
        runs: { type: "string" },
        requests: { type: "string" },
        concurrency: { type: "string" },
        warmup: { type: "string" },
        json: { type: "boolean", default: false }
      }
    })
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
})()
const count = (name: string, text: string | undefined, fallback: number, min = 1) => {
  const n = text === undefined ? fallback : Number(text)
  if (!Number.isInteger(n) || n < min) {
    fail(`${name} must be an integer of at least ${min}, not ${JSON.stringify(text)}`)
  }
  return n
}

// Without any option this is the first form: MODE and positional arguments, one mode, one run, no warm-up.
const firstForm = Object.values(values).every((v) => v === undefined || v === false)
if (!firstForm && positionals.length > 0) fail("give either options or the positional [requests] [concurrency]")
const modeNames = firstForm ? [process.env.MODE ?? "write"] : (values.modes ?? Object.keys(MODES).join(",")).split(",")
const modes = modeNames.map((m) => m.trim()).map((m) => (isMode(m) ? m : fail(`unknown mode ${JSON.stringify(m)}`)))
const runs = firstForm ? 1 : count("--runs", values.runs, 3)
const requests = count("requests", firstForm ? positionals[0] : values.requests, firstForm ? 20_000 : 10_000)
const concurrency = count("concurrency", firstForm ? positionals[1] : values.concurrency, 32)
const warmup = firstForm ? 0 : count("--warmup", values.warmup, 1_000, 0)
const USERS = 10_000
if (USERS <= concurrency) fail(`concurrency must stay below the ${USERS} users, so no user has two writes in flight`)

/** The floor: one GET /healthz group on HttpApi, served by toWebHandler, nothing else. */
const BareApi = HttpApi.make("bare").add(
  HttpApiGroup.make("health").add(
    HttpApiEndpoint.get("health", "/healthz").addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
  )
)
const BareHealthLive = HttpApiBuilder.group(
  BareApi,
  "health",
  (handlers) => handlers.handle("health", () => Effect.succeed({ status: "ok" as const }))
)
const makeBareHandler = () =>
  HttpApiBuilder.toWebHandler(
    Layer.mergeAll(HttpApiBuilder.api(BareApi).pipe(Layer.provide(BareHealthLive)), HttpServer.layerContext)
  )

const dir = mkdtempSync(join(tmpdir(), "users-api-profile-"))
const credentials = await makeCredentials()
const users = makeUsers(USERS)
const database = join(dir, "users.sqlite")
await seedSqliteFile(database, { apiKeyHash: credentials.apiKeyHash, users })
const service = makeFetchHandler(SqliteBunServices(database, jwtConfigFromEnv(credentials.serverEnv)), {
  log: () => undefined,
  idempotencyHashKey: idempotencyHashKeyFromEnv(credentials.serverEnv)
})
const bare = modes.includes("bare") ? makeBareHandler() : undefined
// The hand-written endpoint reads its settings from the environment when loaded, as its server would; its log line
// is silenced as the service's is.
const handFetch = modes.includes("hand")
  ? await (async () => {
    Object.assign(process.env, credentials.serverEnv, { USERS_API_DATA_DIR: dir })
    const { handle } = await import("./handwritten.js")
    return (request: Request) => handle(request, () => {})
  })()
  : undefined
const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}

// Each user's number as stored: `noop` sends it, `write` sends the user's other one (the bench's alternation) and
// records it once answered 200, so the modes can follow each other over one store.
const stored = new Map(users.map((u) => [u.id, u.seeded]))
let cursor = 0
const nextUser = (): BenchUser => users[cursor++ % users.length]!

const send = async (mode: Mode): Promise<boolean> => {
  if (mode === "bare") return ok(await bare!.handler(new Request("http://127.0.0.1/healthz")))
  if (mode === "health") return ok(await service.fetch(new Request("http://127.0.0.1/healthz")))
  const user = nextUser()
  const url = `http://127.0.0.1/users/${user.id}`
  if (mode === "read") return ok(await service.fetch(new Request(url, { headers })))
  const current = stored.get(user.id)!
  const phoneNumber = mode === "noop" ? current : current === user.first ? user.seeded : user.first
  const body = `{"phoneNumber":"${phoneNumber}"}`
  // The length a client on the wire declares (a Request made here would not carry it).
  const response = await (mode === "hand" ? handFetch! : service.fetch)(
    new Request(`${url}/UpdatePhoneNumber`, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      body
    })
  )
  if (response.status === 200) stored.set(user.id, phoneNumber)
  return ok(response)
}
const ok = async (response: Response) => {
  await response.arrayBuffer()
  return response.status === 200
}

/** `total` requests of `mode`, `concurrency` at a time; the seconds they took and how many were not 200. */
const drive = async (mode: Mode, total: number) => {
  let sent = 0
  let failed = 0
  const worker = async () => {
    while (sent < total) {
      sent++
      if (!(await send(mode))) failed++
    }
  }
  const started = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const used = process.cpuUsage(cpu)
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, failed }
}

const results = new Map<Mode, Array<{ readonly us: number; readonly cpuUs: number; readonly failed: number }>>(
  modes.map((m) => [m, []])
)
try {
  for (let run = 1; run <= runs; run++) {
    for (const mode of modes) {
      if (warmup > 0) await drive(mode, warmup)
      const { cpuSeconds, failed, seconds } = await drive(mode, requests)
      const us = (seconds * 1e6) / requests
      results.get(mode)!.push({ us, cpuUs: (cpuSeconds * 1e6) / requests, failed })
      if (firstForm) {
        console.log(
          `${requests} requests in ${seconds.toFixed(2)} s: ${Math.round(requests / seconds)} req/s, ` +
            `${Math.round(us)} µs per request, ${failed} not 200`
        )
      } else {
        process.stderr.write(`run ${run}/${runs} ${mode}: ${Math.round(us)} µs per request, ${failed} not 200\n`)
      }
    }
  }
} finally {
  await service.dispose()
  await bare?.dispose()
  rmSync(dir, { recursive: true, force: true })
}

if (!firstForm) {
  const rows = modes.map((mode) => {
    const measured = results.get(mode)!
    const us = median(measured.map((m) => m.us))
    const { request, targetUs } = MODES[mode]
    return {
      mode,
      request,
      usPerRequest: Math.round(us),
      requestsPerS: Math.round(1e6 / us),
      targetUs: targetUs ?? null,
      met: targetUs === undefined ? null : us <= targetUs,
      runsUs: measured.map((m) => Math.round(m.us)),
      // The process's CPU time per request (every thread, the harness included): steadier than wall time on a
      // shared machine, which a neighbour's work slows without adding to it.
      cpuUsPerRequest: Math.round(median(measured.map((m) => m.cpuUs))),
      notOk: measured.reduce((sum, m) => sum + m.failed, 0)
    }
  })
  if (values.json) {
    const at = new Date().toISOString()
    console.log(JSON.stringify({ requests, concurrency, runs, warmup, bun: Bun.version, modes: rows, at }))
  } else {
    const table = [
      ["mode", "request", "µs/request", "requests/s", "target µs", "met", "per run µs", "not 200"],
      ...rows.map((r) => [
        r.mode,
        r.request,
        String(r.usPerRequest),
        String(r.requestsPerS),
        r.targetUs === null ? "-" : `≤ ${r.targetUs}`,
        r.met === null ? (r.mode === "bare" ? "(floor)" : "(baseline)") : r.met ? "yes" : "no",
        r.runsUs.join(", "),
        String(r.notOk)
      ])
    ]
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
    const line = (row: ReadonlyArray<string>) =>
      row.map((cell, i) => (i < 2 || i === 6 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
    console.log(
      [
        `in-process, ${requests} requests per mode and run at ${concurrency} in flight (after ${warmup} unmeasured), ` +
        `median of ${runs} run${runs === 1 ? "" : "s"}; µs per request = 1e6 ÷ requests/s`,
        "",
        line(table[0]!),
        widths.map((w) => "-".repeat(w)).join("  "),
        ...table.slice(1).map(line)
      ].join("\n")
    )
  }
}
