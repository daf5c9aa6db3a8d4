/**
 * `npm run bench:scale [-- --isolates 1,2,4] [--organizations 1,k] [--connections 32] [--duration 10] [--warmup 3]
 *  [--users 10000] [--json] [--keep]`: many Worker isolates writing to one D1.
 *
 * For each configuration, K copies of the service's Worker (bundled by wrangler from src/worker.ts, behind
 * scale-worker.ts's isolate probe) run in one Miniflare, each its own isolate on its own 127.0.0.1 socket, all bound to
 * the same D1 database (scale-miniflare.ts). The database is migrated by wrangler and seeded with the bench's users
 * (seed.ts), spread over the configuration's organizations (user i in organization i mod O). autocannon (workload.ts)
 * opens `--connections` connections to each isolate (so K = 4 at the default is 4 × 32 = 128 in all), all drawing from
 * the one request sequence of workload.ts: every request a different user, alternating each user's two numbers,
 * the user's organization's service token and API key; so with several organizations, any isolate gets requests of
 * any of them. Afterwards the persisted D1 file is read: every answer that announced an event must have its event in
 * the store (else a lost update), the audit chain must verify (scripts/lib/audit-file.ts, `npm run audit:verify`'s
 * own check) and the events written must be the ones announced, plus at most one per connection whose answer the end
 * of the run cut off. Each isolate's id is read before and after the load: K different ids, unchanged, or the run
 * fails.
 *
 * `--organizations` takes numbers and `k`, which means as many organizations as isolates.
 *
 * Runtime: Bun, like the other bench scripts. Miniflare (wrangler's dependency, node_modules/miniflare) runs under
 * Bun as it is: it spawns workerd and talks to it over a pipe and HTTP, and Bun serves both; the D1 file is read with
 * bun:sqlite. Throughput and latency count the `--duration` window after `--warmup`; answer counts (409, 5xx) cover
 * the whole run. Prints a table (or, with --json, one JSON object per configuration) on stdout, progress on stderr.
 * Every process it starts (wrangler, workerd) is stopped on success, failure or signal, and the whole run is bounded.
 * Its temporary directory (bundles, databases, workerd's log of the Workers' output) is removed unless the run failed
 * or `--keep` was given.
 */
import { Database } from "bun:sqlite"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { verifyAuditFile } from "../lib/audit-file.js"
import { stopAll } from "./processes.js"
import {
  bundleWorker,
  type Cluster,
  copyD1,
  d1Files,
  migratedD1,
  startCluster,
  stopClusters
} from "./scale-miniflare.js"
import { seedSqliteFile } from "./seed.js"
import { ROOT } from "./targets.js"
import {
  type BenchUser,
  makeSequence,
  makeTenants,
  makeUsers,
  ORGANIZATION_ID,
  runLoad,
  type Tenant
} from "./workload.js"

const usage = "usage: npm run bench:scale -- [--isolates 1,2,4] [--organizations 1,k] [--connections 32] " +
  "[--duration 10] [--warmup 3] [--users 10000] [--json] [--keep]"

const fail = (message: string): never => {
  console.error(`bench:scale: ${message}\n${usage}`)
  process.exit(2)
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        isolates: { type: "string", default: "1,2,4" },
        organizations: { type: "string", default: "1,k" },
        connections: { type: "string", default: "32" },
        duration: { type: "string", default: "10" },
        warmup: { type: "string", default: "3" },
        users: { type: "string", default: "10000" },
        json: { type: "boolean", default: false },
        keep: { type: "boolean", default: false }
      }
    })
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error))
  }
})()

const positive = (name: string, text: string) => {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, not ${JSON.stringify(text)}`)
  return n
}
const whole = (name: string, text: string) => Math.round(positive(name, text.trim()))

const isolatesList = values.isolates!.split(",").map((part) => whole("isolates", part))
const organizationsList = values.organizations!.split(",").map((part) =>
  part.trim().toLowerCase() === "k" ? "k" as const : whole("organizations", part)
)
const connectionsPerIsolate = whole("connections", values.connections!)
const durationS = positive("duration", values.duration!)
const warmupS = Number(values.warmup)
if (!Number.isFinite(warmupS) || warmupS < 0) fail("--warmup must be a number of seconds, 0 or more")
const userCount = whole("users", values.users!)

interface Configuration {
  readonly isolates: number
  readonly organizations: number
}

const configurations: Array<Configuration> = []
for (const isolates of isolatesList) {
  for (const o of organizationsList) {
    const organizations = o === "k" ? isolates : o
    const duplicate = configurations.some((c) => c.isolates === isolates && c.organizations === organizations)
    if (!duplicate) configurations.push({ isolates, organizations })
  }
}
for (const { isolates, organizations } of configurations) {
  if (userCount <= isolates * connectionsPerIsolate) {
    fail(`--users (${userCount}) must exceed the connections in all (${isolates} × ${connectionsPerIsolate})`)
  }
  if (organizations > userCount) fail(`more organizations (${organizations}) than users (${userCount})`)
}

const progress = (line: string) => process.stderr.write(`${line}\n`)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

// The whole run is bounded: bundling and migrating, then per configuration its start, load and check.
const budgetMs = 240_000 + configurations.length * (90_000 + (warmupS + durationS) * 1000 * 1.5)
const watchdog = setTimeout(() => {
  progress(`bench:scale: still running after ${Math.round(budgetMs / 1000)} s; stopping everything`)
  void Promise.all([stopClusters(), stopAll()]).finally(() => process.exit(1))
}, budgetMs)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stopClusters())

/** An answer's body: the service's 2xx carry `event` (its id) or null; problems a `code`. */
const answerOf = (body: string): { readonly eventId?: string | null; readonly code?: string } => {
  try {
    const parsed = JSON.parse(body) as { event?: { id?: unknown } | null; code?: unknown }
    return {
      ...(parsed.event === null
        ? { eventId: null }
        : typeof parsed.event?.id === "string"
        ? { eventId: parsed.event.id }
        : {}),
      ...(typeof parsed.code === "string" ? { code: parsed.code } : {})
    }
  } catch {
    return {}
  }
}

interface StoreFindings {
  readonly chainVerified: boolean
  readonly chainBreak?: string
  readonly eventsInStore: number
  readonly eventIds: ReadonlySet<string>
  /** Users whose row version is not 1 + the number of their events after the seed's. */
  readonly versionMismatches: number
}

const inspectStore = async (file: string): Promise<StoreFindings> => {
  const verification = verifyAuditFile(file)
  const db = new Database(file, { readonly: true })
  let versionMismatches: number
  try {
    const row = db.query(
      "SELECT COUNT(*) AS n FROM users u WHERE u.version <> (SELECT COUNT(*) FROM events e " +
        "WHERE e.organization_id = u.organization_id AND e.aggregate_id = u.id)"
    ).get() as { n: number }
    versionMismatches = row.n
  } finally {
    db.close()
  }
  const broken = verification.broken
  return {
    chainVerified: broken === undefined,
    ...(broken === undefined
      ? {}
      : { chainBreak: `${broken.reason} in ${broken.organizationId}` }),
    eventsInStore: verification.events.length,
    eventIds: new Set(verification.events.map((stored) => stored.event.id)),
    versionMismatches
  }
}

const workDir = mkdtempSync(join(tmpdir(), "users-api-bench-scale-"))
const results: Array<Record<string, unknown>> = []

const runConfiguration = async (
  configuration: Configuration,
  script: string,
  template: string,
  users: ReadonlyArray<BenchUser>,
  index: number
) => {
  const { isolates, organizations } = configuration
  const dir = join(workDir, `run-${index}`)
  mkdirSync(dir)
  const organizationIds = organizations === 1
    ? [ORGANIZATION_ID]
    : Array.from({ length: organizations }, (_, i) => `${ORGANIZATION_ID}_${i + 1}`)
  const { serverEnv, tenants } = await makeTenants(organizationIds)
  const persist = join(dir, "state")
  const file = copyD1(template, persist)
  const tenantOf = new Map<string, Tenant>()
  for (const [o, tenant] of tenants.entries()) {
    const mine = users.filter((_, i) => i % organizations === o)
    for (const user of mine) tenantOf.set(user.id, tenant)
    await seedSqliteFile(file, { apiKeyHash: tenant.apiKeyHash, organizationId: tenant.organizationId, users: mine })
  }
  const cluster: Cluster = await startCluster({
    name: "users-api",
    config: join(ROOT, "wrangler.toml"),
    script,
    copies: isolates,
    persist,
    vars: serverEnv,
    log: join(dir, "workerd.log")
  })
  const announced = new Set<string>()
  const problems: Record<string, number> = {}
  const answersPerIsolate = Array.from({ length: isolates }, () => 0)
  let noopAnswers = 0
  let load
  let before
  let after
  try {
    before = await cluster.probe()
    const sequence = makeSequence(users)
    const headersFor = (tenant: Tenant): Record<string, string> => ({
      authorization: `Bearer ${tenant.serviceToken}`,
      "x-api-key": tenant.apiKey
    })
    const headersOf = new Map(tenants.map((tenant) => [tenant, headersFor(tenant)]))
    load = await runLoad({
      url: cluster.urls,
      connections: connectionsPerIsolate,
      warmupS,
      durationS,
      headers: { "content-type": "application/json" },
      next: () => {
        const { body, path, user } = sequence.next()
        return { path, body, headers: headersOf.get(tenantOf.get(user.id)!)! }
      },
      onAnswer: (status, body, urlIndex) => {
        answersPerIsolate[urlIndex]!++
        const answer = answerOf(body)
        if (status >= 200 && status < 300) {
          if (typeof answer.eventId === "string") announced.add(answer.eventId)
          else noopAnswers++
        } else {
          const key = `${status} ${answer.code ?? "?"}`
          problems[key] = (problems[key] ?? 0) + 1
        }
      }
    })
    after = await cluster.probe()
  } finally {
    await cluster.stop()
  }
  const ids = before.map((report) => report.isolate)
  const isolatesVerified = new Set(ids).size === isolates &&
    after.every((report, i) => report.isolate === ids[i])
  if (!isolatesVerified) {
    throw new Error(`expected ${isolates} distinct isolates that lived through the run, saw ${JSON.stringify(after)}`)
  }
  const files = d1Files(persist)
  if (files.length !== 1) throw new Error(`expected the copies to share one D1 file, found ${files.length}`)
  const store = await inspectStore(file)
  const lostUpdates = [...announced].filter((id) => !store.eventIds.has(id)).length
  const eventsWritten = store.eventsInStore - users.length
  const unannouncedEvents = eventsWritten - (announced.size - lostUpdates)
  const totalConnections = isolates * connectionsPerIsolate
  const refusals: Record<string, number> = {}
  for (const report of after) {
    for (const [reason, n] of Object.entries(report.refused)) refusals[reason] = (refusals[reason] ?? 0) + n
  }
  const count = (predicate: (status: number) => boolean) =>
    Object.entries(load.statusCodes).reduce((sum, [status, n]) => sum + (predicate(Number(status)) ? n : 0), 0)
  const result = {
    isolates,
    organizations,
    connections: totalConnections,
    connectionsPerIsolate,
    durationS,
    warmupS,
    users: users.length,
    rps: round(load.rps),
    okRps: round(load.okRps),
    p50Ms: round(load.p50Ms, 2),
    p99Ms: round(load.p99Ms, 2),
    answers: answersPerIsolate.reduce((a, b) => a + b, 0),
    ok2xx: load.ok,
    noopAnswers,
    conflicts409: count((s) => s === 409),
    errors5xx: count((s) => s >= 500 && s < 600),
    // Requests without an answer within autocannon's 10 s; latency percentiles are of answered requests only.
    timeouts: load.timeouts,
    // Other non-2xx answers, and connection errors and timeouts ("error": not a number).
    otherErrors: count((s) => !(s >= 200 && s < 300) && s !== 409 && !(s >= 500 && s < 600)),
    problems,
    // D1 batch() calls of the K isolates, and those D1 refused.
    d1Batches: after.reduce((sum, report) => sum + report.batches, 0),
    d1Refused: Object.values(refusals).reduce((a, b) => a + b, 0),
    d1Refusals: refusals,
    lostUpdates,
    eventsAnnounced: announced.size,
    eventsWritten,
    unannouncedEvents,
    // A request cut off by the end of the run, or given up by the client after its timeout, may still write.
    eventsMatch: lostUpdates === 0 && unannouncedEvents >= 0 &&
      unannouncedEvents <= totalConnections + load.timeouts,
    versionMismatches: store.versionMismatches,
    chainVerified: store.chainVerified,
    ...(store.chainBreak === undefined ? {} : { chainBreak: store.chainBreak }),
    isolatesVerified,
    requestsPerIsolate: after.map((report) => report.requests),
    batchesPerIsolate: after.map((report) => report.batches),
    refusedPerIsolate: after.map((report) => Object.values(report.refused).reduce((a, b) => a + b, 0)),
    // At the end of the load, per isolate: requests without an answer, D1 batches and queries without a result.
    pendingPerIsolate: after.map((report) => report.pending),
    answersPerIsolate,
    statusCodes: load.statusCodes,
    loadGenerator: `autocannon 8 in Bun ${Bun.version}, one instance per isolate, same machine`,
    at: new Date().toISOString()
  }
  progress(
    `  ${Math.round(result.rps)} rps (${
      Math.round(result.okRps)
    } 2xx/s), p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms; ${result.ok2xx} 2xx ` +
      `(${noopAnswers} without an event), ${result.conflicts409} 409, ${result.errors5xx} 5xx, ${result.timeouts} timeouts` +
      `${Object.keys(problems).length === 0 ? "" : ` ${JSON.stringify(problems)}`}; ${result.d1Refused} of ` +
      `${result.d1Batches} D1 batches refused; lost ${lostUpdates}, events ` +
      `${eventsWritten} for ${announced.size} announced${result.eventsMatch ? "" : " (MISMATCH)"}, chain ` +
      `${store.chainVerified ? "verified" : `BROKEN (${store.chainBreak})`}; requests per isolate ` +
      `${result.requestsPerIsolate.join("/")}, answers ${answersPerIsolate.join("/")}`
  )
  return result
}

const table = (rows: ReadonlyArray<Record<string, unknown>>) => {
  const columns: ReadonlyArray<[string, (r: Record<string, unknown>) => unknown]> = [
    ["isolates", (r) => r.isolates],
    ["orgs", (r) => r.organizations],
    ["conns", (r) => r.connections],
    ["rps", (r) => r.rps],
    ["2xx/s", (r) => r.okRps],
    ["p50 ms", (r) => r.p50Ms],
    ["p99 ms", (r) => r.p99Ms],
    ["2xx", (r) => r.ok2xx],
    ["409", (r) => r.conflicts409],
    ["5xx", (r) => r.errors5xx],
    ["timeouts", (r) => r.timeouts],
    ["refused", (r) => `${r.d1Refused}/${r.d1Batches}`],
    ["lost", (r) => r.lostUpdates],
    ["events", (r) => `${r.eventsWritten}/${r.eventsAnnounced}${r.eventsMatch ? "" : " MISMATCH"}`],
    ["chain", (r) => (r.chainVerified ? "verified" : "BROKEN")],
    ["answers per isolate", (r) => (r.answersPerIsolate as Array<number>).join("/")]
  ]
  const cells = [columns.map(([name]) => name), ...rows.map((row) => columns.map(([, get]) => String(get(row))))]
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(cells[0]!), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n") +
    "\n\n" + [
    "rps: answers per second in the window after the warm-up; 2xx/s: the successful ones among them",
    "timeouts: requests without an answer after autocannon's 10 s (latencies are of answered requests only)",
    "refused: D1 batches refused / made by the isolates (the service plans a refused batch again and retries)",
    "events: written to the store / announced in 2xx answers; written may exceed announced by the requests cut off",
    "  at the end (at most one per connection) or timed out; 409, 5xx, timeouts and batches count the warm-up too"
  ].join("\n")
}

let exitCode = 0
try {
  progress(`generating ${userCount} users with ${2 * userCount} valid numbers ...`)
  const users = makeUsers(userCount)
  progress("bundling with wrangler (deploy --dry-run) and migrating a local D1 template ...")
  const script = await bundleWorker(
    join(ROOT, "wrangler.toml"),
    join("scripts", "bench", "scale-worker.ts"),
    join(workDir, "bundle-service")
  )
  const template = join(workDir, "template")
  await migratedD1(join(ROOT, "wrangler.toml"), template)
  for (const [i, configuration] of configurations.entries()) {
    progress(
      `${configuration.isolates} isolate(s) × ${connectionsPerIsolate} connections, ` +
        `${configuration.organizations} organization(s) (${i + 1}/${configurations.length}) ...`
    )
    results.push(await runConfiguration(configuration, script, template, users, i + 1))
  }
} catch (error) {
  progress(`bench:scale failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
  exitCode = 1
} finally {
  await stopClusters()
  await stopAll()
  clearTimeout(watchdog)
  if (exitCode === 0 && !values.keep) rmSync(workDir, { recursive: true, force: true })
  else progress(`logs and databases kept in ${workDir}`)
}

if (values.json) {
  for (const result of results) process.stdout.write(JSON.stringify(result) + "\n")
} else if (results.length > 0) {
  process.stdout.write(table(results) + "\n")
}
process.exit(exitCode)
