/**
 * `bun scripts/bench/worker-cpu.ts [--requests 400] [--block 50] [--host wrangler|miniflare]`: where the Worker's time
 * goes, without a saturated machine in the way. Starts six Workers side by side over local D1: the bare D1 Worker,
 * the same writing the service's log line (LOG_LINE=1), the same behind one HttpApi route (bare-httpapi-worker.ts: the
 * floor of HttpApi on workerd), the whole endpoint written by hand without Effect (handwritten-worker.ts), the
 * service's HTTP side with the bare write as its program (contract-worker.ts), and the service. Sends them the bench's
 * UpdatePhoneNumber requests one at a time, in alternating blocks of `--block` (so that a machine that slows down
 * meanwhile slows all alike), and prints per request of each: the client's latency and CPU time, read from /proc
 * around each block. Linux only.
 *
 * `--host wrangler` (the default) runs each under wrangler dev, as `npm run bench` does, and reads the CPU of its
 * processes by name: workerd (both of them, the Worker's and D1's) and wrangler's own Node process. `--host miniflare`
 * runs each in a Miniflare of its own (scale-miniflare.ts: the config's bundle, bindings and vars; no wrangler
 * process, no inspector attached, no proxy in front), whose one workerd process holds the Worker and its D1: what
 * the Worker costs workerd itself, without what wrangler dev adds to every request.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { cpuSeconds, stopAll } from "./processes.js"
import { bundleWorker, migratedD1, startSingle, stopClusters } from "./scale-miniflare.js"
import { seedSqliteFile } from "./seed.js"
import {
  bareHttpApiWorker,
  bareWorker,
  bareWorkerWithLogLine,
  contractWorker,
  handwrittenWorker,
  ROOT,
  type RunContext,
  type Target,
  workerEndpoint
} from "./targets.js"
import { makeCredentials, makeSequence, makeUsers } from "./workload.js"

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "400" },
    block: { type: "string", default: "50" },
    host: { type: "string", default: "wrangler" }
  }
})
const requests = Number(values.requests)
const block = Math.max(1, Math.min(requests, Number(values.block)))
if (values.host !== "wrangler" && values.host !== "miniflare") {
  console.error(`worker-cpu: --host is wrangler or miniflare, not ${JSON.stringify(values.host)}`)
  process.exit(2)
}
const host = values.host
const TICKS_PER_S = 100

/** CPU seconds (user + system) of every process in `pid`'s group, by command name. */
const cpuOfGroup = (pid: number): Record<string, number> => {
  const totals: Record<string, number> = {}
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8")
    } catch {
      continue
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    if (Number(fields[2]) !== pid) continue // pgrp
    totals[name] = (totals[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S
  }
  return totals
}

const workDir = mkdtempSync(join(tmpdir(), "users-api-worker-cpu-"))
const credentials = await makeCredentials()
// Every request a user of its own, as in the bench (warm-up included).
const users = makeUsers(Math.max(1000, requests + 100))
const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}

interface Running {
  readonly url: string
  /** CPU seconds so far of the processes that serve it, by command name. */
  readonly cpu: () => Record<string, number>
}

/** Under wrangler dev: the target's process group. */
const underWrangler = async (dir: string, make: (ctx: RunContext) => Promise<Target>): Promise<Running> => {
  const target = await make({ dir, credentials, users })
  return { url: target.url, cpu: () => cpuOfGroup(target.process.child.pid!) }
}

/** In a Miniflare of its own: `config` bundled, its D1 migrated and seeded, the service's vars and `vars`. */
const inMiniflare = async (dir: string, config: string, vars: Record<string, string>): Promise<Running> => {
  const script = await bundleWorker(config, undefined, join(dir, "bundle"))
  const persist = join(dir, "d1")
  await seedSqliteFile(await migratedD1(config, persist), { apiKeyHash: credentials.apiKeyHash, users })
  const { pid, url } = await startSingle({
    name: dir.split("/").pop()!,
    config,
    script,
    persist,
    vars: { ...credentials.serverEnv, ...vars },
    log: join(dir, "workerd.log")
  })
  return { url, cpu: () => ({ workerd: cpuSeconds(pid) }) }
}

const bench = (file: string) => join(ROOT, "scripts", "bench", file)

/** The six Workers: how each starts under wrangler dev (targets.ts), and its config and vars for Miniflare. */
const WORKERS: ReadonlyArray<
  readonly [name: string, make: (ctx: RunContext) => Promise<Target>, config: string, vars: Record<string, string>]
> = [
  ["bare", bareWorker, bench("wrangler.bare.toml"), {}],
  ["bare + log line", bareWorkerWithLogLine, bench("wrangler.bare.toml"), { LOG_LINE: "1" }],
  ["bare behind HttpApi", bareHttpApiWorker, bench("wrangler.bare-httpapi.toml"), {}],
  ["hand-written", handwrittenWorker, bench("wrangler.handwritten.toml"), {}],
  ["service without its program", contractWorker, bench("wrangler.contract.toml"), {}],
  ["endpoint", workerEndpoint, join(ROOT, "wrangler.toml"), {}]
]

/** A Worker, warmed up, with a block of sequential requests to send at a time. */
const launch = async (name: string, start: (dir: string) => Promise<Running>) => {
  const dir = join(workDir, name.replace(/\W+/g, "-"))
  mkdirSync(dir)
  const running = await start(dir)
  const sequence = makeSequence(users)
  const send = async () => {
    const { body, path } = sequence.next()
    const response = await fetch(`${running.url}${path}`, { method: "POST", headers, body })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`${name}: ${response.status}`)
  }
  const cpu: Record<string, number> = {}
  let elapsedMs = 0
  let sent = 0
  const runBlock = async (count: number) => {
    const before = running.cpu()
    const started = performance.now()
    for (let i = 0; i < count; i++) await send()
    elapsedMs += performance.now() - started
    sent += count
    const after = running.cpu()
    for (const k of Object.keys(after)) cpu[k] = (cpu[k] ?? 0) + after[k]! - (before[k] ?? 0)
  }
  for (let i = 0; i < 50; i++) await send() // warm-up: the isolate, its caches and the JIT
  const result = () => ({
    name,
    host,
    latencyMs: Math.round((elapsedMs / sent) * 100) / 100,
    cpuMsPerRequest: Object.fromEntries(
      Object.entries(cpu).map(([k, seconds]) => [k, Math.round((seconds * 1000 / sent) * 100) / 100])
    )
  })
  return { runBlock, result }
}

try {
  const workers = []
  for (const [name, make, config, vars] of WORKERS) {
    workers.push(
      await launch(name, (dir) => host === "wrangler" ? underWrangler(dir, make) : inMiniflare(dir, config, vars))
    )
  }
  for (let done = 0; done < requests; done += block) {
    for (const worker of workers) await worker.runBlock(Math.min(block, requests - done))
  }
  for (const worker of workers) console.log(JSON.stringify(worker.result()))
} finally {
  await stopAll()
  await stopClusters()
  rmSync(workDir, { recursive: true, force: true })
}
