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
 * - `request`: UpdatePhoneNumber to the user's other number with `"verification": "send-code"` (202: the event, the
 *   pending change and its code's HMAC in one write, the code handed to an in-process CodeSender that keeps it);
 * - `confirm`: ConfirmPhoneNumberChange with the code of a change `request` left pending (counted attempt, HMAC
 *   comparison, the write that applies it): give `request` first, with as many requests;
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
import { makeCodeSenderDouble } from "../../src/layers/memory/code-sender.js"
import { SqliteBunServices } from "../../src/layers/sqlite/bun.js"
import { CodeLimits, PhonePolicies, PhonePolicy } from "../../src/services/phone-policy.js"
import { seedSqliteFile } from "./seed.js"
import { type BenchUser, makeCredentials, makeUsers, median, ORGANIZATION_ID } from "./workload.js"

const MODES = {
  bare: { request: "GET /healthz on a bare HttpApi app (the floor)", targetUs: undefined },
  health: { request: "GET /healthz (router, edge middleware, SELECT 1)", targetUs: 50 },
  read: { request: "GET /users/{id} (cached auth, one read)", targetUs: 100 },
  noop: { request: "UpdatePhoneNumber, the current number (no write)", targetUs: 150 },
  write: { request: "UpdatePhoneNumber, the other number (a write)", targetUs: 250 },
  request: { request: "UpdatePhoneNumber with send-code (a verified change requested)", targetUs: undefined },
  confirm: { request: "ConfirmPhoneNumberChange (the change applied)", targetUs: undefined },
  hand: { request: "the same write to the hand-written endpoint (no Effect)", targetUs: undefined }
} as const
type Mode = keyof typeof MODES
const isMode = (name: string): name is Mode => Object.hasOwn(MODES, name)

const usage =
  "usage: bun scripts/bench/profile.ts --modes bare,health,read,noop,write,request,confirm,hand [--runs 3] [--requests 10000] " +
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
// Codes stay in-process, as the log does: the request's own cost, without an SMS gateway's.
const codes = makeCodeSenderDouble()
const service = makeFetchHandler(SqliteBunServices(database, jwtConfigFromEnv(credentials.serverEnv)), {
  log: () => undefined,
  idempotencyHashKey: idempotencyHashKeyFromEnv(credentials.serverEnv),
  verification: { codeSender: codes.layer }
})
// Limits far above what a run sends, so no request is a 429.
await service.run(Effect.orDie(Effect.flatMap(PhonePolicies, (policies) =>
  policies.put(
    ORGANIZATION_ID,
    PhonePolicy.make({
      codeLimits: CodeLimits.make({ perNumberPerHour: 100, perUserPerDay: 1_000, perOrganizationPerDay: 10_000_000 })
    })
  )))).done
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
/** The changes `request` left pending, by user (a later request replaces its code), oldest first. */
const pending = new Map<string, { readonly phoneNumber: string; readonly code: string }>()
let cursor = 0
const nextUser = (): BenchUser => users[cursor++ % users.length]!

const send = async (mode: Mode): Promise<boolean> => {
  if (mode === "bare") return ok(await bare!.handler(new Request("http://127.0.0.1/healthz")))
  if (mode === "health") return ok(await service.fetch(new Request("http://127.0.0.1/healthz")))
  const user = nextUser()
  const url = `http://127.0.0.1/users/${user.id}`
  if (mode === "read") return ok(await service.fetch(new Request(url, { headers })))
  if (mode === "confirm") return confirmNext()
  const current = stored.get(user.id)!
  const phoneNumber = mode === "noop" ? current : current === user.first ? user.seeded : user.first
  const body = mode === "request"
    ? `{"phoneNumber":"${phoneNumber}","verification":"send-code"}`
    : `{"phoneNumber":"${phoneNumber}"}`
  // The length a client on the wire declares (a Request made here would not carry it).
  const response = await (mode === "hand" ? handFetch! : service.fetch)(
    new Request(`${url}/UpdatePhoneNumber`, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      body
    })
  )
  if (mode === "request") {
    // Requests run concurrently: this user's code, wherever it is among theirs.
    const index = codes.sent.findIndex((delivery) => delivery.userId === user.id)
    const sent = index < 0 ? undefined : codes.sent.splice(index, 1)[0]
    if (response.status === 202 && sent !== undefined) pending.set(user.id, { phoneNumber, code: sent.code })
    return ok(response, 202)
  }
  if (response.status === 200) stored.set(user.id, phoneNumber)
  return ok(response)
}
const confirmNext = async (): Promise<boolean> => {
  const next = pending.entries().next()
  if (next.done === true) return false
  const [userId, change] = next.value
  pending.delete(userId)
  const body = `{"code":"${change.code}"}`
  const response = await service.fetch(
    new Request(`http://127.0.0.1/users/${userId}/ConfirmPhoneNumberChange`, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      body
    })
  )
  if (response.status === 200) stored.set(userId, change.phoneNumber)
  return ok(response)
}
const ok = async (response: Response, expected = 200) => {
  await response.arrayBuffer()
  return response.status === expected
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
        r.met === null
          ? (r.mode === "bare" ? "(floor)" : r.mode === "hand" ? "(baseline)" : "-")
          : r.met
          ? "yes"
          : "no",
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
