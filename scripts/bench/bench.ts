/**
 * `npm run bench [-- --runtime bun|deno|worker|all] [--connections 32] [--duration 10] [--users 10000] [--runs 3]
 * [--warmup 3] [--cold-start-samples 5] [--no-ceiling] [--json]`: UpdatePhoneNumber under load from 127.0.0.1
 * (autocannon, in this process), beside two same-run baselines per runtime: its floor (hello world on Bun and Deno,
 * the bare D1 Worker on Workers) and the endpoint written by hand without Effect (handwritten.ts,
 * handwritten-worker.ts); plus, once, the raw SQLite write rate of this machine (the storage ceiling) and, on
 * Workers, the bundle's size and cold start (cold-start.ts). `--users` and `--connections` take comma lists for a
 * growth matrix. Prints a table (or, with --json, one JSON object per runtime and workload) and writes
 * bench/results/<date>-<runtime>.json. Every process it starts is stopped, on success or failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { type ColdStart, formatColdStart, measureColdStart } from "./cold-start.js"
import { sampleRss, stopAll } from "./processes.js"
import { type Ceiling, storageCeiling } from "./seed.js"
import {
  bareWorker,
  bunEndpoint,
  bunHandwritten,
  bunHello,
  denoEndpoint,
  denoHandwritten,
  denoHello,
  handwrittenWorker,
  ROOT,
  type RunContext,
  type Target,
  workerEndpoint
} from "./targets.js"
import { type BenchUser, makeCredentials, makeSequence, makeUsers, median, runLoad } from "./workload.js"

const RUNTIMES = {
  bun: {
    endpoint: bunEndpoint,
    baseline: bunHello,
    handwritten: bunHandwritten,
    baselineName: "hello-world JSON on Bun.serve",
    handwrittenName: "the endpoint written by hand on Bun.serve + bun:sqlite, no Effect (handwritten.ts)"
  },
  deno: {
    endpoint: denoEndpoint,
    baseline: denoHello,
    handwritten: denoHandwritten,
    baselineName: "hello-world JSON on Deno.serve",
    handwrittenName: "the endpoint written by hand on Deno.serve + node:sqlite, no Effect (handwritten.ts under Deno)"
  },
  worker: {
    endpoint: workerEndpoint,
    baseline: bareWorker,
    handwritten: handwrittenWorker,
    baselineName: "bare D1 Worker, the same write and nothing else (bare-worker.ts)",
    handwrittenName: "the endpoint written by hand over D1, no Effect (handwritten-worker.ts)"
  }
} as const
type Runtime = keyof typeof RUNTIMES
/** The runtimes whose store is an SQLite file, whose write the storage ceiling measures. */
const ON_SQLITE_FILE: ReadonlySet<Runtime> = new Set(["bun", "deno"])

/** One runtime and workload: the JSON line printed with --json and written to bench/results. */
interface Summary {
  readonly runtime: Runtime
  readonly users: number
  readonly connections: number
  readonly endpointRps: number
  readonly endpointP50Ms: number
  readonly endpointP99Ms: number
  /** Non-2xx answers, connection errors and timeouts of the endpoint, summed over the runs. */
  readonly errors: number
  readonly baselineRps: number
  /** endpointRps ÷ baselineRps, both medians over the runs. */
  readonly ratio: number
  readonly handwrittenRps: number
  /** endpointRps ÷ handwrittenRps. */
  readonly handwrittenRatio: number
  /** Bun and Deno: the storage ceiling with the two reads, measured once per bench; ratio = endpoint ÷ it. */
  readonly ceilingTxPerS?: number
  readonly ceilingRatio?: number
  /** Peak resident memory of the endpoint's process tree (median over the runs). */
  readonly rssMb: number
  readonly [extra: string]: unknown
}

const usage = "usage: bun scripts/bench/bench.ts [--runtime bun|deno|worker|all] [--connections 32] " +
  "[--duration 10] [--users 10000] [--runs 3] [--warmup 3] [--cold-start-samples 5] [--no-ceiling] [--json]"

const fail = (message: string): never => {
  console.error(`bench: ${message}\n${usage}`)
  process.exit(2)
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        runtime: { type: "string", default: "bun" },
        connections: { type: "string", default: "32" },
        duration: { type: "string", default: "10" },
        users: { type: "string", default: "10000" },
        runs: { type: "string", default: "3" },
        warmup: { type: "string", default: "3" },
        "cold-start-samples": { type: "string", default: "5" },
        json: { type: "boolean", default: false },
        "no-ceiling": { type: "boolean", default: false }
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
const list = (name: string, text: string) => text.split(",").map((part) => Math.round(positive(name, part.trim())))

const runtimes: ReadonlyArray<Runtime> = values.runtime === "all"
  ? ["bun", "deno", "worker"]
  : Object.hasOwn(RUNTIMES, values.runtime!)
  ? [values.runtime as Runtime]
  : fail(`unknown runtime ${JSON.stringify(values.runtime)}`)
const connectionsList = list("connections", values.connections!)
const usersList = list("users", values.users!)
const durationS = positive("duration", values.duration!)
const warmupS = Number(values.warmup)
const runs = Math.round(positive("runs", values.runs!))
const coldStartSamples = Math.round(positive("cold-start-samples", values["cold-start-samples"]!))
for (const users of usersList) {
  for (const connections of connectionsList) {
    if (users <= connections) fail(`--users (${users}) must exceed --connections (${connections})`)
  }
}

const progress = (line: string) => process.stderr.write(`${line}\n`)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

const workDir = mkdtempSync(join(tmpdir(), "users-api-bench-"))
const credentials = await makeCredentials()
const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}

interface Measurement {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly ok: number
  readonly rssMb: number
  readonly statusCodes: Record<string, number>
  /** Servers that write: events written during the run, and whether the audit chain verifies afterwards. */
  readonly events?: number
  readonly chainIntact?: boolean
}

let runCounter = 0
const measure = async (
  make: (ctx: RunContext) => Promise<Target>,
  users: ReadonlyArray<BenchUser>,
  connections: number
): Promise<Measurement> => {
  const dir = join(workDir, `run-${++runCounter}`)
  mkdirSync(dir)
  const target = await make({ dir, credentials, users })
  let load
  let rssMb
  try {
    const peakRss = sampleRss(target.process.child.pid!)
    load = await runLoad({ url: target.url, connections, warmupS, durationS, headers, next: makeSequence(users).next })
    rssMb = peakRss()
  } finally {
    await target.process.stop()
  }
  const check = target.check === undefined ? undefined : await target.check()
  return {
    ...load,
    rssMb,
    ...(check === undefined ? {} : { events: check.events - users.length, chainIntact: check.chainIntact })
  }
}

const summaries: Array<Summary> = []
let ceiling: Ceiling | undefined
let coldStart: ColdStart | undefined
try {
  if (runtimes.includes("worker")) coldStart = await measureColdStart(coldStartSamples, progress)
  if (!values["no-ceiling"]) {
    const dir = join(workDir, "ceiling")
    mkdirSync(dir)
    progress("storage ceiling: bun:sqlite, the two-statement write, server pragmas ...")
    ceiling = await storageCeiling(dir, makeUsers(Math.min(usersList[0]!, 10_000)))
  }
  for (const userCount of usersList) {
    progress(`generating ${userCount} users with ${2 * userCount} valid numbers ...`)
    const users = makeUsers(userCount)
    for (const connections of connectionsList) {
      for (const runtime of runtimes) {
        const { baseline, baselineName, endpoint, handwritten, handwrittenName } = RUNTIMES[runtime]
        // Events written equal the 2xx answers, plus at most one per connection cut off at the window's end.
        const consistent = (m: Measurement) =>
          m.events !== undefined && m.events >= m.ok && m.events <= m.ok + connections && m.chainIntact === true
        const perRun: Array<Record<"baseline" | "endpoint" | "handwritten", Measurement>> = []
        for (let run = 1; run <= runs; run++) {
          progress(`${runtime} ${userCount} users, ${connections} connections, run ${run}/${runs}`)
          const measured = new Map<string, Measurement>()
          // The baseline first, then the two targets in turns: whichever comes right after the baseline can run
          // slower (seen on Workers), so neither takes that place in every run.
          const steps = [["endpoint", endpoint], ["handwritten", handwritten]] as const
          const order = run % 2 === 1 ? steps : [...steps].reverse()
          for (const [key, make] of [["baseline", baseline] as const, ...order]) {
            const m = await measure(make, users, connections)
            measured.set(key, m)
            progress(
              `  ${key} ${Math.round(m.rps)} rps, p50 ${round(m.p50Ms, 2)} ms, p99 ${round(m.p99Ms, 2)} ms, ` +
                `errors ${m.errors}` +
                (m.events === undefined
                  ? ""
                  : `, events ${m.events} for ${m.ok} 2xx, chain ${m.chainIntact ? "intact" : "BROKEN"}` +
                    (consistent(m) ? "" : " (STORE MISMATCH)"))
            )
          }
          perRun.push({
            baseline: measured.get("baseline")!,
            endpoint: measured.get("endpoint")!,
            handwritten: measured.get("handwritten")!
          })
        }
        const med = (pick: (r: (typeof perRun)[number]) => number) => median(perRun.map(pick))
        const endpointRps = med((r) => r.endpoint.rps)
        const baselineRps = med((r) => r.baseline.rps)
        const handwrittenRps = med((r) => r.handwritten.rps)
        const ceilingTxPerS = ceiling !== undefined && ON_SQLITE_FILE.has(runtime) ? ceiling.readWriteTxPerS : undefined
        summaries.push({
          runtime,
          users: userCount,
          connections,
          endpointRps: round(endpointRps),
          endpointP50Ms: round(med((r) => r.endpoint.p50Ms), 2),
          endpointP99Ms: round(med((r) => r.endpoint.p99Ms), 2),
          errors: perRun.reduce((sum, r) => sum + r.endpoint.errors, 0),
          baselineRps: round(baselineRps),
          ratio: round(endpointRps / baselineRps, 3),
          handwrittenRps: round(handwrittenRps),
          handwrittenRatio: round(endpointRps / handwrittenRps, 3),
          ...(ceilingTxPerS === undefined ? {} : {
            ceilingTxPerS: Math.round(ceilingTxPerS),
            ceilingRatio: round(endpointRps / ceilingTxPerS, 3)
          }),
          rssMb: round(med((r) => r.endpoint.rssMb)),
          storeChecked: perRun.every((r) => consistent(r.endpoint) && consistent(r.handwritten)),
          baseline: baselineName,
          handwritten: handwrittenName,
          runs: perRun.map((r) => ({
            endpointRps: round(r.endpoint.rps),
            baselineRps: round(r.baseline.rps),
            handwrittenRps: round(r.handwritten.rps),
            endpointP99Ms: round(r.endpoint.p99Ms, 2),
            statusCodes: r.endpoint.statusCodes,
            handwrittenStatusCodes: r.handwritten.statusCodes,
            eventsWritten: r.endpoint.events,
            chainIntact: r.endpoint.chainIntact
          })),
          ...(ceiling === undefined ? {} : {
            storageCeilingTxPerS: Math.round(ceiling.writeTxPerS),
            storageCeilingWithReadsTxPerS: Math.round(ceiling.readWriteTxPerS)
          }),
          ...(runtime !== "worker" || coldStart === undefined ? {} : {
            bundleBytes: coldStart.bundleBytes,
            bundleGzipBytes: coldStart.bundleGzipBytes,
            coldStartMs: round(coldStart.service.totalMs),
            bareColdStartMs: round(coldStart.bare.totalMs),
            coldStart
          }),
          durationS,
          warmupS,
          loadGenerator: `autocannon 8 in Bun ${Bun.version}, same machine`,
          at: new Date().toISOString()
        })
      }
    }
  }
} finally {
  await stopAll()
  rmSync(workDir, { recursive: true, force: true })
}

const resultsDir = join(ROOT, "bench", "results")
mkdirSync(resultsDir, { recursive: true })
const date = new Date().toISOString().slice(0, 10)
const matrix = usersList.length > 1 || connectionsList.length > 1
for (const runtime of runtimes) {
  const mine = summaries.filter((s) => s.runtime === runtime)
  const file = join(resultsDir, `${date}-${runtime}${matrix ? "-growth" : ""}.json`)
  writeFileSync(file, JSON.stringify(mine.length === 1 ? mine[0] : mine, null, 2) + "\n")
  progress(`wrote ${file}`)
}

const COLUMNS: ReadonlyArray<readonly [string, (s: Summary) => string]> = [
  ["runtime", (s) => s.runtime],
  ["users", (s) => String(s.users)],
  ["conns", (s) => String(s.connections)],
  ["endpoint rps", (s) => s.endpointRps.toFixed(0)],
  ["p50 ms", (s) => s.endpointP50Ms.toFixed(2)],
  ["p99 ms", (s) => s.endpointP99Ms.toFixed(2)],
  ["errors", (s) => String(s.errors)],
  ["baseline rps", (s) => s.baselineRps.toFixed(0)],
  ["ratio", (s) => s.ratio.toFixed(3)],
  ["hand rps", (s) => s.handwrittenRps.toFixed(0)],
  ["hand ratio", (s) => s.handwrittenRatio.toFixed(3)],
  ["ceiling tx/s", (s) => s.ceilingTxPerS?.toFixed(0) ?? "-"],
  ["ceil ratio", (s) => s.ceilingRatio?.toFixed(3) ?? "-"],
  ["rss MB", (s) => s.rssMb.toFixed(0)],
  ["store", (s) => (s.storeChecked ? "ok" : "MISMATCH")]
]

const formatTable = (): string => {
  const rows = [COLUMNS.map(([title]) => title), ...summaries.map((s) => COLUMNS.map(([, cell]) => cell(s)))]
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const lines = rows.map((row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  )
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "))
  return [
    ...lines,
    "",
    `medians of ${runs} runs, ${durationS} s each after a ${warmupS} s warm-up; errors summed over the runs`,
    "ratio = endpoint ÷ baseline; hand ratio = endpoint ÷ the hand-written endpoint; ceil ratio = endpoint ÷ ceiling",
    ...new Set(summaries.map((s) => `${s.runtime}: baseline ${s.baseline}; hand ${s.handwritten}`)),
    ...(ceiling === undefined ? [] : [
      `storage ceiling (bun:sqlite, server pragmas, synchronous=${ceiling.synchronous}): ` +
      `${Math.round(ceiling.writeTxPerS)} tx/s for UPDATE + INSERT, ` +
      `${Math.round(ceiling.readWriteTxPerS)} tx/s with the user and chain-head reads`
    ])
  ].join("\n")
}

// Deno's endpoint ÷ Bun's in the same run, beside the same for the hand-written endpoint: the runtime's own ratio.
const denoVsBun = summaries.flatMap((deno) => {
  const bun = summaries.find((s) => s.runtime === "bun" && s.users === deno.users && s.connections === deno.connections)
  return deno.runtime !== "deno" || bun === undefined ? [] : [{
    compare: "deno vs bun",
    users: deno.users,
    connections: deno.connections,
    endpointDenoVsBun: round(deno.endpointRps / bun.endpointRps, 3),
    handwrittenDenoVsBun: round(deno.handwrittenRps / bun.handwrittenRps, 3)
  }]
})

if (values.json) {
  for (const line of [...summaries, ...denoVsBun]) process.stdout.write(JSON.stringify(line) + "\n")
} else {
  process.stdout.write(formatTable() + "\n")
  if (coldStart !== undefined) process.stdout.write(formatColdStart(coldStart) + "\n")
  for (const r of denoVsBun) {
    process.stdout.write(
      `endpoint, Deno ÷ Bun: ${r.endpointDenoVsBun}; hand-written, Deno ÷ Bun: ${r.handwrittenDenoVsBun}\n`
    )
  }
}
