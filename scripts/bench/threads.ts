/**
 * `bun scripts/bench/threads.ts [--rounds 3] [--warmup 3] [--duration 6]`: where a Bun server's CPU goes under the
 * bench's load, thread by thread. Each of the Bun servers of `npm run bench` (hello world, the HttpApi floor, the
 * hand-written endpoint, the same behind HttpApi, and the endpoint as production runs it) is started in turn over a
 * freshly seeded store, loaded like the bench (32 connections, the same requests) and, between the end of the
 * warm-up and the end of the window, its threads' CPU is read from /proc/<pid>/task: the main thread (JavaScript and
 * the HTTP server), JavaScriptCore's JIT compilers and GC helpers, Bun's thread pool (Web Crypto's work: jose's
 * verify in the hand-written endpoints). Prints one JSON line per server and round, in µs per request. Linux only.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { runLoad } from "./load.js"
import { stopAll } from "./processes.js"
import {
  bunBareHttpApi,
  bunEndpoint,
  bunHandwritten,
  bunHandwrittenHttpApi,
  bunHello,
  type RunContext,
  type Target
} from "./targets.js"
import { makeCredentials, makeSequence, makeUsers } from "./workload.js"

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "3" },
    duration: { type: "string", default: "6" }
  }
})
const rounds = Number(values.rounds)
const warmupS = Number(values.warmup)
const durationS = Number(values.duration)
const TICKS_PER_S = 100

const SERVERS: ReadonlyArray<readonly [string, (ctx: RunContext) => Promise<Target>]> = [
  ["hello", bunHello],
  ["bare httpapi", bunBareHttpApi],
  ["hand-written", bunHandwritten],
  ["hand-written behind httpapi", bunHandwrittenHttpApi],
  ["endpoint", bunEndpoint]
]

/** CPU ticks (user + system) of each of `pid`'s threads, by kind: "main" for the thread that is the process. */
const threadTicks = (pid: number): Record<string, number> => {
  const totals: Record<string, number> = {}
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")
    } catch {
      continue // Ended while we looked.
    }
    // "Bun Pool 0", "Bun Pool 1": one kind.
    const name = tid === String(pid)
      ? "main"
      : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/ \d+$/, "")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    totals[name] = (totals[name] ?? 0) + Number(fields[11]) + Number(fields[12])
  }
  return totals
}

const workDir = mkdtempSync(join(tmpdir(), "users-api-threads-"))
const credentials = await makeCredentials()
const users = makeUsers(10_000)
const headers = {
  authorization: `Bearer ${credentials.serviceToken}`,
  "x-api-key": credentials.apiKey,
  "content-type": "application/json"
}
let run = 0
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [name, make] of SERVERS) {
      const dir = join(workDir, `run-${++run}`)
      mkdirSync(dir)
      const target = await make({ dir, credentials, users })
      const pid = target.process.child.pid!
      let before: Record<string, number> = {}
      const mark = setTimeout(() => (before = threadTicks(pid)), warmupS * 1000)
      let load
      let after: Record<string, number>
      try {
        const sequence = makeSequence(users)
        load = await runLoad({ url: target.url, connections: 32, warmupS, durationS, headers, next: sequence.next })
        after = threadTicks(pid)
      } finally {
        clearTimeout(mark)
        await target.process.stop()
      }
      const requests = load.rps * durationS
      const usPerRequest = Object.fromEntries(
        Object.entries(after)
          .map((
            [thread, ticks]
          ) => [thread, Math.round(((ticks - (before[thread] ?? 0)) / TICKS_PER_S) * 1e6 / requests)])
          .filter(([, us]) => (us as number) > 0)
      )
      console.log(JSON.stringify({ round, server: name, rps: Math.round(load.rps), errors: load.errors, usPerRequest }))
    }
  }
} finally {
  await stopAll()
  rmSync(workDir, { recursive: true, force: true })
}
