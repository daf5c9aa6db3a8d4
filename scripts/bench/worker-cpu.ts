/**
 * `bun scripts/bench/worker-cpu.ts [--requests 400]`: where the Worker's time goes, without a saturated machine in
 * the way. Starts the service's Worker and the bare D1 Worker under wrangler dev (local D1, as `npm run bench`
 * does), sends each the bench's UpdatePhoneNumber requests one at a time, and prints per request: the client's
 * latency and the CPU time of wrangler's processes (workerd, both of them: the Worker's and D1's; and wrangler's
 * own Node process), read from /proc before and after. Linux only.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { stopAll } from "./processes.js"
import { bareWorker, type RunContext, type Target, workerEndpoint } from "./targets.js"
import { makeCredentials, makeSequence, makeUsers } from "./workload.js"

const { values } = parseArgs({ options: { requests: { type: "string", default: "400" } } })
const requests = Number(values.requests)
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

const measure = async (name: string, make: (ctx: RunContext) => Promise<Target>) => {
  const dir = join(workDir, name)
  mkdirSync(dir)
  const target = await make({ dir, credentials, users })
  try {
    const sequence = makeSequence(users)
    const send = async () => {
      const { body, path } = sequence.next()
      const response = await fetch(`${target.url}${path}`, { method: "POST", headers, body })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`${name}: ${response.status}`)
    }
    for (let i = 0; i < 50; i++) await send() // warm-up: the isolate, its caches and the JIT
    const pid = target.process.child.pid!
    const before = cpuOfGroup(pid)
    const started = performance.now()
    for (let i = 0; i < requests; i++) await send()
    const elapsedMs = performance.now() - started
    const after = cpuOfGroup(pid)
    const cpuMs = Object.fromEntries(
      Object.keys(after).map((k) => [k, Math.round(((after[k]! - (before[k] ?? 0)) * 1000 / requests) * 100) / 100])
    )
    return { name, latencyMs: Math.round((elapsedMs / requests) * 100) / 100, cpuMsPerRequest: cpuMs }
  } finally {
    await target.process.stop()
  }
}

try {
  for (const result of [await measure("bare", bareWorker), await measure("endpoint", workerEndpoint)]) {
    console.log(JSON.stringify(result))
  }
} finally {
  await stopAll()
  rmSync(workDir, { recursive: true, force: true })
}
