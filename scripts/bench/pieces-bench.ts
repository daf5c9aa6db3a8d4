/**
 * `bun scripts/bench/pieces-bench.ts [--count 20000] [--rounds 5] [--json]`: what each piece of a request
 * (pieces.ts) costs Bun and workerd, one call at a time. On Bun the pieces run in this process (wall time per call;
 * nothing else runs meanwhile). On workerd they run inside a Worker (pieces-worker.ts) in a Miniflare of its own
 * (scale-miniflare.ts: no wrangler dev, no inspector attached): each round sends ten requests of `count` ÷ 10 calls
 * and reads workerd's CPU time around them, so a call's cost includes its share of ten requests (a few µs per
 * thousand calls). Prints the median of the rounds per piece, in µs per call, and workerd ÷ Bun.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { PIECES, runPiece } from "./pieces.js"
import { cpuSeconds } from "./processes.js"
import { median } from "./report.js"
import { bundleWorker, startSingle, stopClusters } from "./scale-miniflare.js"
import { ROOT } from "./targets.js"

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "20000" },
    rounds: { type: "string", default: "5" },
    json: { type: "boolean", default: false }
  }
})
const count = Math.max(10, Math.round(Number(values.count) / 10) * 10)
const rounds = Math.max(1, Number(values.rounds))
const names = Object.keys(PIECES)

const onBun: Record<string, Array<number>> = {}
for (const name of names) await runPiece(name, 2_000)
for (let round = 0; round < rounds; round++) {
  for (const name of names) {
    const started = performance.now()
    await runPiece(name, count)
    ;(onBun[name] ??= []).push(((performance.now() - started) * 1000) / count)
  }
}

const dir = mkdtempSync(join(tmpdir(), "users-api-pieces-"))
const onWorkerd: Record<string, Array<number>> = {}
try {
  const config = join(ROOT, "scripts", "bench", "wrangler.pieces.toml")
  const script = await bundleWorker(config, undefined, join(dir, "bundle"))
  mkdirSync(join(dir, "persist"))
  const { pid, url } = await startSingle({
    name: "pieces",
    config,
    script,
    persist: join(dir, "persist"),
    vars: {},
    log: join(dir, "workerd.log")
  })
  const send = async (name: string, calls: number) => {
    const response = await fetch(`${url}/?piece=${name}&count=${calls}`)
    await response.arrayBuffer()
    if (response.status !== 200) throw new Error(`piece ${name}: ${response.status}`)
  }
  for (const name of names) await send(name, 2_000)
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const cpu = cpuSeconds(pid)
      for (let i = 0; i < 10; i++) await send(name, count / 10)
      ;(onWorkerd[name] ??= []).push(((cpuSeconds(pid) - cpu) * 1e6) / count)
    }
  }
} finally {
  await stopClusters()
  rmSync(dir, { recursive: true, force: true })
}

const round2 = (n: number) => Math.round(n * 100) / 100
const rows = names.map((name) => {
  const bun = median(onBun[name]!)
  const workerd = median(onWorkerd[name]!)
  return {
    piece: name,
    what: PIECES[name]!.what,
    bunUs: round2(bun),
    workerdUs: round2(workerd),
    ratio: round2(workerd / bun)
  }
})
if (values.json) {
  console.log(JSON.stringify({ count, rounds, bun: Bun.version, pieces: rows, at: new Date().toISOString() }))
} else {
  console.log(`µs per call, median of ${rounds} rounds of ${count} calls (Bun: wall time in-process; workerd: CPU)\n`)
  for (const row of rows) {
    console.log(
      `${row.piece.padEnd(18)} ${String(row.bunUs).padStart(8)} ${String(row.workerdUs).padStart(8)} ` +
        `${String(row.ratio).padStart(6)} ×  ${row.what}`
    )
  }
}
