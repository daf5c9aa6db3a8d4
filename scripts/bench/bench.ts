/**
 * `npm run bench [-- --runtime bun|deno|worker|all] [--connections 32] [--duration 10] [--users 10000] [--runs 3]
 * [--warmup 3] [--cold-start-samples 5] [--json]`: UpdatePhoneNumber under load from 127.0.0.1 (autocannon, in this
 * process), against a same-run baseline per runtime (on Bun and Deno also the endpoint written by hand without Effect,
 * handwritten.ts, and over D1 on Workers, handwritten-worker.ts; on Bun also that endpoint behind HttpApi,
 * handwritten-httpapi.ts; on Bun and Workers the floor of any endpoint through HttpApi, bare-httpapi-bun.ts and
 * bare-httpapi-worker.ts, whose floorRatio is the share of the baseline an HttpApi endpoint keeps doing nothing more;
 * and on every runtime the design's floor, the hand-written endpoint with the service's credential cache behind one
 * HttpApi route, handwritten-cached-httpapi.ts and handwritten-cached-httpapi-worker.ts, whose designFloorRatio is the
 * share any implementation of this design keeps and endpointToDesignFloor what the service keeps of it),
 * `--runs` times each (medians reported), plus the raw SQLite write rate of this machine as
 * the storage ceiling. On Workers also the bundle's size and its cold start beside the bare Worker's (cold-start.ts,
 * measured once, before the load). `--users` and `--connections` take comma lists (e.g. `--users 1000,10000,100000
 * --connections 8,32,128`) for a growth matrix.
 * Prints a table (or, with --json, one JSON object per runtime and workload) and writes
 * bench/results/<date>-<runtime>.json. Every process it starts is stopped, on success or failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { type Ceiling, storageCeiling } from "./ceiling.js"
import { type ColdStart, formatColdStart, measureColdStart } from "./cold-start.js"
import { runLoad } from "./load.js"
import { sampleRss, stopAll } from "./processes.js"
import { formatTable, median, type Summary } from "./report.js"
import {
  bareHttpApiWorker,
  bareWorker,
  bunBareHttpApi,
  bunEndpoint,
  bunHandwritten,
  bunHandwrittenCachedHttpApi,
  bunHandwrittenHttpApi,
  bunHello,
  denoEndpoint,
  denoHandwritten,
  denoHandwrittenCachedHttpApi,
  denoHello,
  handwrittenCachedHttpApiWorker,
  handwrittenWorker,
  ROOT,
  type RunContext,
  type Target,
  workerEndpoint
} from "./targets.js"
import { type BenchUser, makeCredentials, makeSequence, makeUsers } from "./workload.js"

// On Bun the endpoint is also measured against itself written by hand without Effect, against the floor of any
// endpoint through HttpApi, and against the hand-written endpoint served through HttpApi (issue 10). On Workers the
// floor is the bare Worker's write behind one HttpApi route: what the ratio to the bare Worker can be at most. On every
// runtime the design's floor is the hand-written endpoint with the service's credential cache behind one HttpApi route: what
// any implementation of this design (HttpApi, the endpoint's work, the service's caches) keeps of the baseline, so
// that the service's distance to it is the price of this project's layering.
const RUNTIMES = {
  bun: {
    endpoint: bunEndpoint,
    baseline: bunHello,
    baselineName: "hello-world JSON on Bun.serve",
    handwritten: bunHandwritten,
    handwrittenHttpApi: bunHandwrittenHttpApi,
    floor: bunBareHttpApi,
    floorName: "the route through HttpApi on Bun.serve, body read, fixed answer (bare-httpapi-bun.ts)",
    designFloor: bunHandwrittenCachedHttpApi,
    designFloorName: "the hand-written endpoint with the service's credential cache, behind one HttpApi route " +
      "(handwritten-cached-httpapi.ts)"
  },
  deno: {
    endpoint: denoEndpoint,
    baseline: denoHello,
    baselineName: "hello-world JSON on Deno.serve",
    handwritten: denoHandwritten,
    handwrittenHttpApi: undefined,
    floor: undefined,
    floorName: undefined,
    designFloor: denoHandwrittenCachedHttpApi,
    designFloorName: "the hand-written endpoint with the service's credential cache, behind one HttpApi route, on " +
      "Deno.serve + node:sqlite (handwritten-cached-httpapi.ts under Deno)"
  },
  worker: {
    endpoint: workerEndpoint,
    baseline: bareWorker,
    baselineName: "bare D1 Worker (same batch)",
    handwritten: handwrittenWorker,
    handwrittenHttpApi: undefined,
    floor: bareHttpApiWorker,
    floorName: "the bare D1 Worker's write behind one HttpApi route, nothing else (bare-httpapi-worker.ts)",
    designFloor: handwrittenCachedHttpApiWorker,
    designFloorName: "the hand-written endpoint with the service's credential cache, behind one HttpApi route, " +
      "over D1 (handwritten-cached-httpapi-worker.ts)"
  }
} as const
type Runtime = keyof typeof RUNTIMES
/** The runtimes whose store is an SQLite file, whose write the storage ceiling measures. */
const ON_SQLITE_FILE: ReadonlySet<Runtime> = new Set(["bun", "deno"])

const usage = "usage: bun scripts/bench/bench.ts [--runtime bun|deno|worker|all] [--connections 32] " +
  "[--duration 10] [--users 10000] [--runs 3] [--warmup 3] [--cold-start-samples 5] [--json]"

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

interface Measured {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly rssMb: number
  readonly ok: number
  readonly statusCodes: Record<string, number>
}

let runCounter = 0
type Measurement = Measured & { readonly events?: number; readonly chainIntact?: boolean }

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
    const sequence = makeSequence(users)
    const peakRss = sampleRss(target.process.child.pid!)
    load = await runLoad({ url: target.url, connections, warmupS, durationS, headers, next: sequence.next })
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
    progress(
      `storage ceiling: ${Math.round(ceiling.writeTxPerS)} tx/s (UPDATE + INSERT), ` +
        `${Math.round(ceiling.readWriteTxPerS)} tx/s with the two reads (synchronous=${ceiling.synchronous})`
    )
  }
  for (const userCount of usersList) {
    progress(`generating ${userCount} users with ${2 * userCount} valid numbers ...`)
    const users = makeUsers(userCount)
    for (const connections of connectionsList) {
      for (const runtime of runtimes) {
        const {
          baseline,
          baselineName,
          designFloor,
          designFloorName,
          endpoint,
          floor,
          floorName,
          handwritten,
          handwrittenHttpApi
        } = RUNTIMES[runtime]
        const perRun = []
        // Events written equal the 2xx answers, plus at most one per connection cut off at the window's end.
        const consistent = (m: Measurement) =>
          m.events !== undefined && m.events >= m.ok && m.events <= m.ok + connections
        const storeLine = (m: Measurement) =>
          `errors ${m.errors}, rss ${Math.round(m.rssMb)} MB, events ${m.events} for ${m.ok} 2xx` +
          `${consistent(m) ? "" : " (MISMATCH)"}, chain ${m.chainIntact ? "intact" : "BROKEN"}`
        for (let run = 1; run <= runs; run++) {
          progress(`${runtime} ${userCount} users, ${connections} connections, run ${run}/${runs}: baseline ...`)
          const base = await measure(baseline, users, connections)
          progress(`  baseline ${Math.round(base.rps)} rps, p99 ${round(base.p99Ms, 2)} ms, errors ${base.errors}`)
          // The targets measured beside the baseline, in an order that turns by one each run: whichever goes first
          // after the baseline was measured up to 20 % slower on Workers (BENCHMARKS.md, the eighth round), so with
          // three or more targets none takes that place in more than one of three runs, and their medians leave it out.
          const steps = ([
            ["endpoint", "endpoint", endpoint],
            ["handwritten", "hand-written", handwritten],
            ["handwrittenHttpApi", "hand-written behind HttpApi", handwrittenHttpApi],
            ["floor", "bare HttpApi (the floor)", floor],
            ["designFloor", "the design's floor", designFloor]
          ] as const).filter((step) => step[2] !== undefined)
          const turn = (run - 1) % steps.length
          const measured = new Map<(typeof steps)[number][0], Measurement>()
          for (const [key, label, make] of [...steps.slice(turn), ...steps.slice(0, turn)]) {
            progress(`  ${label} ...`)
            const m = await measure(make!, users, connections)
            measured.set(key, m)
            progress(
              `  ${label} ${Math.round(m.rps)} rps, p50 ${round(m.p50Ms, 2)} ms, p99 ${round(m.p99Ms, 2)} ms, ` +
                (m.events === undefined ? `errors ${m.errors}` : storeLine(m))
            )
          }
          const end = measured.get("endpoint")!
          const hand = measured.get("handwritten")
          const handApi = measured.get("handwrittenHttpApi")
          const bare = measured.get("floor")
          const design = measured.get("designFloor")
          perRun.push({
            run,
            floor: bare,
            designFloor: design,
            baseline: base,
            endpoint: end,
            ratio: end.rps / base.rps,
            eventsMatch2xx: consistent(end),
            handwritten: hand,
            handwrittenEventsMatch2xx: hand === undefined ? undefined : consistent(hand),
            handwrittenHttpApi: handApi,
            handwrittenHttpApiEventsMatch2xx: handApi === undefined ? undefined : consistent(handApi)
          })
        }
        const endpointRps = median(perRun.map((r) => r.endpoint.rps))
        const baselineRps = median(perRun.map((r) => r.baseline.rps))
        const hands = perRun.flatMap((r) => (r.handwritten === undefined ? [] : [r.handwritten]))
        const handwrittenRps = hands.length === 0 ? undefined : median(hands.map((h) => h.rps))
        const handApis = perRun.flatMap((r) => (r.handwrittenHttpApi === undefined ? [] : [r.handwrittenHttpApi]))
        const handwrittenHttpApiRps = handApis.length === 0 ? undefined : median(handApis.map((h) => h.rps))
        const floors = perRun.flatMap((r) => (r.floor === undefined ? [] : [r.floor]))
        const floorRps = floors.length === 0 ? undefined : median(floors.map((f) => f.rps))
        const designs = perRun.flatMap((r) => (r.designFloor === undefined ? [] : [r.designFloor]))
        const designFloorRps = designs.length === 0 ? undefined : median(designs.map((d) => d.rps))
        const ceilingTxPerS = ceiling !== undefined && ON_SQLITE_FILE.has(runtime) ? ceiling.readWriteTxPerS : undefined
        summaries.push({
          runtime,
          connections,
          durationS,
          users: userCount,
          endpointRps: round(endpointRps),
          endpointP50Ms: round(median(perRun.map((r) => r.endpoint.p50Ms)), 2),
          endpointP99Ms: round(median(perRun.map((r) => r.endpoint.p99Ms)), 2),
          errors: perRun.reduce((sum, r) => sum + r.endpoint.errors, 0),
          baselineRps: round(baselineRps),
          ratio: round(endpointRps / baselineRps, 3),
          ...(handwrittenRps === undefined ? {} : {
            handwrittenRps: round(handwrittenRps),
            handwrittenRatio: round(endpointRps / handwrittenRps, 3)
          }),
          ...(ceilingTxPerS === undefined ? {} : {
            ceilingTxPerS: Math.round(ceilingTxPerS),
            ceilingRatio: round(endpointRps / ceilingTxPerS, 3)
          }),
          rssMb: round(median(perRun.map((r) => r.endpoint.rssMb))),
          baseline: baselineName,
          baselineP50Ms: round(median(perRun.map((r) => r.baseline.p50Ms)), 2),
          baselineP99Ms: round(median(perRun.map((r) => r.baseline.p99Ms)), 2),
          baselineErrors: perRun.reduce((sum, r) => sum + r.baseline.errors, 0),
          ...(hands.length === 0 ? {} : {
            handwritten: {
              bun: "the endpoint written by hand on Bun.serve + bun:sqlite, no Effect (handwritten.ts)",
              deno: "the endpoint written by hand on Deno.serve + node:sqlite, no Effect (handwritten.ts under Deno)",
              worker: "the endpoint written by hand over D1, no Effect (handwritten-worker.ts)"
            }[runtime],
            handwrittenP50Ms: round(median(hands.map((h) => h.p50Ms)), 2),
            handwrittenP99Ms: round(median(hands.map((h) => h.p99Ms)), 2),
            handwrittenErrors: hands.reduce((sum, h) => sum + h.errors, 0),
            handwrittenRssMb: round(median(hands.map((h) => h.rssMb)))
          }),
          ...(handwrittenHttpApiRps === undefined ? {} : {
            handwrittenHttpApi: "the hand-written endpoint as the work of one HttpApi route (handwritten-httpapi.ts)",
            handwrittenHttpApiRps: round(handwrittenHttpApiRps),
            handwrittenHttpApiRatio: round(endpointRps / handwrittenHttpApiRps, 3),
            handwrittenHttpApiP99Ms: round(median(handApis.map((h) => h.p99Ms)), 2),
            handwrittenHttpApiErrors: handApis.reduce((sum, h) => sum + h.errors, 0)
          }),
          ...(floorRps === undefined ? {} : {
            floor: floorName,
            floorRps: round(floorRps),
            floorRatio: round(floorRps / baselineRps, 3),
            floorP99Ms: round(median(floors.map((f) => f.p99Ms)), 2),
            floorErrors: floors.reduce((sum, f) => sum + f.errors, 0)
          }),
          ...(designFloorRps === undefined ? {} : {
            designFloor: designFloorName,
            designFloorRps: round(designFloorRps),
            designFloorRatio: round(designFloorRps / baselineRps, 3),
            endpointToDesignFloor: round(endpointRps / designFloorRps, 3),
            designFloorP99Ms: round(median(designs.map((d) => d.p99Ms)), 2),
            designFloorErrors: designs.reduce((sum, d) => sum + d.errors, 0)
          }),
          runs: perRun.map((r) => ({
            endpointRps: round(r.endpoint.rps),
            endpointP50Ms: round(r.endpoint.p50Ms, 2),
            endpointP99Ms: round(r.endpoint.p99Ms, 2),
            errors: r.endpoint.errors,
            rssMb: round(r.endpoint.rssMb),
            baselineRps: round(r.baseline.rps),
            ratio: round(r.ratio, 3),
            statusCodes: r.endpoint.statusCodes,
            eventsWritten: r.endpoint.events,
            eventsMatch2xx: r.eventsMatch2xx,
            chainIntact: r.endpoint.chainIntact,
            ...(r.handwritten === undefined ? {} : {
              handwrittenRps: round(r.handwritten.rps),
              handwrittenRatio: round(r.endpoint.rps / r.handwritten.rps, 3),
              handwrittenP99Ms: round(r.handwritten.p99Ms, 2),
              handwrittenErrors: r.handwritten.errors,
              handwrittenStatusCodes: r.handwritten.statusCodes,
              handwrittenEventsWritten: r.handwritten.events,
              handwrittenEventsMatch2xx: r.handwrittenEventsMatch2xx,
              handwrittenChainIntact: r.handwritten.chainIntact
            }),
            ...(r.handwrittenHttpApi === undefined ? {} : {
              handwrittenHttpApiRps: round(r.handwrittenHttpApi.rps),
              handwrittenHttpApiRatio: round(r.endpoint.rps / r.handwrittenHttpApi.rps, 3),
              handwrittenHttpApiP99Ms: round(r.handwrittenHttpApi.p99Ms, 2),
              handwrittenHttpApiEventsMatch2xx: r.handwrittenHttpApiEventsMatch2xx,
              handwrittenHttpApiChainIntact: r.handwrittenHttpApi.chainIntact
            }),
            ...(r.floor === undefined ? {} : {
              floorRps: round(r.floor.rps),
              floorRatio: round(r.floor.rps / r.baseline.rps, 3),
              floorP99Ms: round(r.floor.p99Ms, 2)
            }),
            ...(r.designFloor === undefined ? {} : {
              designFloorRps: round(r.designFloor.rps),
              designFloorRatio: round(r.designFloor.rps / r.baseline.rps, 3),
              endpointToDesignFloor: round(r.endpoint.rps / r.designFloor.rps, 3),
              designFloorP99Ms: round(r.designFloor.p99Ms, 2),
              designFloorEventsMatch2xx: consistent(r.designFloor),
              designFloorChainIntact: r.designFloor.chainIntact
            }),
            ...(ceilingTxPerS === undefined ? {} : { ceilingRatio: round(r.endpoint.rps / ceilingTxPerS, 3) })
          })),
          ...(ceiling === undefined
            ? {}
            : {
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
          warmupS,
          loadGenerator: `autocannon 8 in ${typeof Bun === "undefined" ? "Node" : `Bun ${Bun.version}`}, same machine`,
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

// Issue 10's Deno target is relative to Bun in the same run: Deno's endpoint ÷ Bun's, and, as the runtime's own
// ratio for this endpoint without Effect, Deno's hand-written ÷ Bun's, and for any implementation of this design,
// Deno's design's floor ÷ Bun's.
const runtimeRatios = summaries.flatMap((deno) => {
  const bun = summaries.find((s) => s.runtime === "bun" && s.users === deno.users && s.connections === deno.connections)
  if (deno.runtime !== "deno" || bun === undefined) return []
  const hand = deno.handwrittenRps !== undefined && bun.handwrittenRps !== undefined
    ? { handwrittenDenoVsBun: round(deno.handwrittenRps / bun.handwrittenRps, 3) }
    : {}
  const design = deno.designFloorRps !== undefined && bun.designFloorRps !== undefined
    ? { designFloorDenoVsBun: round(deno.designFloorRps / bun.designFloorRps, 3) }
    : {}
  return [{
    compare: "deno vs bun",
    users: deno.users,
    connections: deno.connections,
    endpointDenoVsBun: round(deno.endpointRps / bun.endpointRps, 3),
    ...hand,
    ...design
  }]
})

if (values.json) {
  for (const line of [...summaries, ...runtimeRatios]) process.stdout.write(JSON.stringify(line) + "\n")
} else {
  process.stdout.write(formatTable(summaries, ceiling) + "\n")
  if (coldStart !== undefined) process.stdout.write(formatColdStart(coldStart) + "\n")
  for (const r of runtimeRatios) {
    const hand = r.handwrittenDenoVsBun === undefined ? "" : `; hand-written, Deno ÷ Bun: ${r.handwrittenDenoVsBun}`
    const design = r.designFloorDenoVsBun === undefined
      ? ""
      : `; the design's floor, Deno ÷ Bun: ${r.designFloorDenoVsBun}`
    process.stdout.write(`endpoint, Deno ÷ Bun: ${r.endpointDenoVsBun}${hand}${design}\n`)
  }
}
