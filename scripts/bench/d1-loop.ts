/**
 * `bun scripts/bench/d1-loop.ts [--block 500] [--rounds 7] [--in-flight 1] [--modes bare,floor,...]`: what each part
 * of the service
 * costs workerd per write over D1, with nothing between the writes. One Worker (d1-loop-worker.ts) in a Miniflare of
 * its own (one workerd process holding it and its local D1, nothing attached: scale-miniflare.ts) runs `--block`
 * writes in a loop inside one request, through the Worker a mode names; the modes take turns, block by block, for
 * `--rounds` rounds after one of warm-up, so a machine that slows down meanwhile slows all alike. Prints workerd's
 * CPU per write of each mode (median of the rounds, read from /proc around each block) and the differences that
 * split the service:
 *
 * - what the D1 write costs through HttpApi's floor (floor − floorNoStore) and through the service's handler
 *   (serviceFixedAuth − serviceNoStore): equal when the service calls D1 no dearer than the floor does;
 * - the service's handler above the floor with no storage (serviceNoStore − floorNoStore);
 * - the real Auth from its caches (serviceHandler − serviceFixedAuth), the log line on the console and the Workers
 *   host around the handler (service − serviceHandler), and the log line alone (bareLogLine − bare);
 * - what the service costs above the design's floor (service − designFloor: the hand-written endpoint with the
 *   service's credential cache behind one HttpApi route, both writing their log line on the console), the price of
 *   this project's layering over D1;
 * - the bare Worker ÷ the floor, ÷ the design's floor and ÷ the service: the Workers target's ratio by workerd's CPU.
 *
 * workerd runs its JavaScript and D1's SQLite on one thread (its other threads take a few µs per write), so its
 * process CPU is the figure. Linux only.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { cpuSeconds } from "./processes.js"
import { median } from "./report.js"
import { bundleWorker, migratedD1, startSingle, stopClusters } from "./scale-miniflare.js"
import { seedSqliteFile } from "./seed.js"
import { makeCredentials, makeUsers } from "./workload.js"

const ALL_MODES = [
  "bare",
  "bareLogLine",
  "floorNoStore",
  "floor",
  "designFloor",
  "serviceNoStore",
  "serviceFixedAuth",
  "serviceHandler",
  "service"
]
const { values } = parseArgs({
  options: {
    block: { type: "string", default: "500" },
    rounds: { type: "string", default: "7" },
    modes: { type: "string", default: ALL_MODES.join(",") },
    "in-flight": { type: "string", default: "1" }
  }
})
const block = Number(values.block)
const rounds = Number(values.rounds)
const modes = values.modes!.split(",")
const inFlight = Number(values["in-flight"])
const unknown = modes.filter((m) => !ALL_MODES.includes(m))
if (!(block > 0) || !(rounds > 0) || !Number.isInteger(inFlight) || inFlight < 1 || unknown.length > 0) {
  console.error(`d1-loop: --block, --rounds and --in-flight are positive; modes are ${ALL_MODES.join(", ")}`)
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), "users-api-d1-loop-"))
try {
  const credentials = await makeCredentials()
  // Every write sets a user's first number (seeded with its second), and no user is written twice.
  const users = makeUsers(block * modes.length * (rounds + 1) + 1)
  const config = join(import.meta.dir, "wrangler.d1-loop.toml")
  const script = await bundleWorker(config, undefined, join(dir, "bundle"))
  const persist = join(dir, "d1")
  mkdirSync(persist)
  await seedSqliteFile(await migratedD1(config, persist), { apiKeyHash: credentials.apiKeyHash, users })
  const { pid, url } = await startSingle({
    name: "d1-loop",
    config,
    script,
    persist,
    vars: { ...credentials.serverEnv, BENCH_TOKEN: credentials.serviceToken, BENCH_KEY: credentials.apiKey },
    log: join(dir, "workerd.log")
  })
  let next = 0
  const runBlock = async (mode: string) => {
    const pairs = users.slice(next, next += block).map((u) => [u.id, u.first])
    const response = await fetch(`${url}/loop?mode=${mode}&in-flight=${inFlight}`, {
      method: "POST",
      body: JSON.stringify(pairs)
    })
    if (response.status !== 200) throw new Error(`${mode}: ${response.status} ${await response.text()}`)
  }
  const perWrite: Record<string, Array<number>> = Object.fromEntries(modes.map((m) => [m, []]))
  for (let round = 0; round <= rounds; round++) {
    for (const mode of modes) {
      const before = cpuSeconds(pid)
      await runBlock(mode)
      if (round > 0) perWrite[mode]!.push((cpuSeconds(pid) - before) * 1e6 / block)
    }
    process.stderr.write(`round ${round}/${rounds}\n`)
  }
  const us = Object.fromEntries(modes.map((m) => [m, median(perWrite[m]!)]))
  const row = (name: string, value: number, all?: Array<number>) =>
    console.log(
      `${name.padEnd(58)} ${value.toFixed(0).padStart(6)} µs${
        all ? `   (${all.map((v) => v.toFixed(0)).join(", ")})` : ""
      }`
    )
  console.log(
    `workerd CPU per write, median of ${rounds} blocks of ${block}, ${inFlight} in flight (each block's in brackets)`
  )
  for (const mode of modes) row(mode, us[mode]!, perWrite[mode])
  const has = (...names: Array<string>) => names.every((n) => n in us)
  const diff = (a: string, b: string) => us[a]! - us[b]!
  console.log("")
  if (has("floor", "floorNoStore")) {
    row("the D1 write through the floor (floor − floorNoStore)", diff("floor", "floorNoStore"))
  }
  if (has("serviceFixedAuth", "serviceNoStore")) {
    row(
      "the D1 write through the service (serviceFixedAuth − serviceNoStore)",
      diff("serviceFixedAuth", "serviceNoStore")
    )
  }
  if (has("serviceNoStore", "floorNoStore")) {
    row("the service's handler above the floor, no store", diff("serviceNoStore", "floorNoStore"))
  }
  if (has("serviceHandler", "serviceFixedAuth")) {
    row("the real Auth from its caches (serviceHandler − serviceFixedAuth)", diff("serviceHandler", "serviceFixedAuth"))
  }
  if (has("service", "serviceHandler")) {
    row("the log line and the Workers host (service − serviceHandler)", diff("service", "serviceHandler"))
  }
  if (has("bareLogLine", "bare")) row("the log line (bareLogLine − bare)", diff("bareLogLine", "bare"))
  if (has("service", "designFloor")) {
    row("the service above the design's floor (service − designFloor)", diff("service", "designFloor"))
  }
  if (has("bare", "floor")) console.log(`bare ÷ floor: ${(us.bare! / us.floor!).toFixed(3)}`)
  if (has("bare", "designFloor")) console.log(`bare ÷ design floor: ${(us.bare! / us.designFloor!).toFixed(3)}`)
  if (has("bare", "service")) console.log(`bare ÷ service: ${(us.bare! / us.service!).toFixed(3)}`)
} finally {
  await stopClusters()
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
