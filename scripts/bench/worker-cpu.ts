/**
 * `bun scripts/bench/worker-cpu.ts [--requests 400] [--block 50]`: where the Worker's time goes, without a saturated
 * machine in the way. Starts five Workers under wrangler dev side by side (local D1, as `npm run bench` does): the
 * bare D1 Worker, the same writing the service's log line (LOG_LINE=1), the same behind one HttpApi route
 * (bare-httpapi-worker.ts: the floor of HttpApi on workerd), the whole endpoint written by hand without Effect
 * (handwritten-worker.ts), and the service's. Sends them the bench's
 * UpdatePhoneNumber requests one at a time, in alternating blocks of `--block` (so that a machine that slows down
 * meanwhile slows all alike), and prints per request of each: the client's latency and the CPU time of its
 * wrangler's processes (workerd, both of them: the Worker's and D1's; and wrangler's own Node process), read from
 * /proc around each block. Linux only.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { stopAll } from "./processes.js"
import {
  bareHttpApiWorker,
  bareWorker,
  bareWorkerWithLogLine,
  handwrittenWorker,
  type RunContext,
  type Target,
  workerEndpoint
} from "./targets.js"
import { makeCredentials, makeSequence, makeUsers } from "./workload.js"

const { values } = parseArgs({
  options: { requests: { type: "string", default: "400" }, block: { type: "string", default: "50" } }
})
const requests = Number(values.requests)
const block = Math.max(1, Math.min(requests, Number(values.block)))
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

/** A Worker under wrangler dev, warmed up, with a block of sequential requests to send at a time. */
const launch = async (name: string, make: (ctx: RunContext) => Promise<Target>) => {
  const dir = join(workDir, name)
  mkdirSync(dir)
  const target = await make({ dir, credentials, users })
  const sequence = makeSequence(users)
  const send = async () => {
    const { body, path } = sequence.next()
    const response = await fetch(`${target.url}${path}`, { method: "POST", headers, body })
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`${name}: ${response.status}`)
  }
  const cpu: Record<string, number> = {}
  let elapsedMs = 0
  let sent = 0
  const runBlock = async (count: number) => {
    const pid = target.process.child.pid!
    const before = cpuOfGroup(pid)
    const started = performance.now()
    for (let i = 0; i < count; i++) await send()
    elapsedMs += performance.now() - started
    sent += count
    const after = cpuOfGroup(pid)
    for (const k of Object.keys(after)) cpu[k] = (cpu[k] ?? 0) + after[k]! - (before[k] ?? 0)
  }
  for (let i = 0; i < 50; i++) await send() // warm-up: the isolate, its caches and the JIT
  const result = () => ({
    name,
    latencyMs: Math.round((elapsedMs / sent) * 100) / 100,
    cpuMsPerRequest: Object.fromEntries(
      Object.entries(cpu).map(([k, seconds]) => [k, Math.round((seconds * 1000 / sent) * 100) / 100])
    )
  })
  return { target, runBlock, result }
}

try {
  const workers = [
    await launch("bare", bareWorker),
    await launch("bare + log line", bareWorkerWithLogLine),
    await launch("bare behind HttpApi", bareHttpApiWorker),
    await launch("hand-written", handwrittenWorker),
    await launch("endpoint", workerEndpoint)
  ]
  for (let done = 0; done < requests; done += block) {
    for (const worker of workers) await worker.runBlock(Math.min(block, requests - done))
  }
  for (const worker of workers) console.log(JSON.stringify(worker.result()))
} finally {
  await stopAll()
  rmSync(workDir, { recursive: true, force: true })
}
