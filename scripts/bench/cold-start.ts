/**
 * `bun scripts/bench/cold-start.ts [--samples 5] [--json]`: the Worker's bundle size (raw, gzip) and its cold start, a
 * fresh Miniflare per sample to the first answer, beside the bare D1 Worker's, alternating; medians (BENCHMARKS.md).
 */
import { Miniflare } from "miniflare"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import type { Readable } from "node:stream"
import { parseArgs } from "node:util"
import { gzipSync } from "node:zlib"
import { generateSigningKey, jwksOf } from "../../src/dev/signing.js"
import { bundleWorker, readWranglerConfig } from "./scale-miniflare.js"
import { benchWorkerConfig, ROOT } from "./targets.js"
import { median } from "./workload.js"

export interface ColdStartTiming {
  /** From `new Miniflare` to ready: workerd started, the script loaded and its top level run. */
  readonly startMs: number
  /** The first request, from sent to answered. */
  readonly firstAnswerMs: number
  readonly totalMs: number
}

export interface ColdStart {
  readonly bundleBytes: number
  readonly bundleGzipBytes: number
  readonly samples: number
  /** Medians over the samples. */
  readonly service: ColdStartTiming
  readonly bare: ColdStartTiming
  readonly runs: ReadonlyArray<{ readonly service: ColdStartTiming; readonly bare: ColdStartTiming }>
}

interface Subject {
  readonly config: string
  readonly script: string
  readonly path: string
  readonly vars: Record<string, string>
}

const sample = async (subject: Subject): Promise<ColdStartTiming> => {
  const config = readWranglerConfig(subject.config)
  const started = performance.now()
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    cf: false,
    modules: true,
    scriptPath: subject.script,
    modulesRoot: dirname(subject.script),
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: [...(config.compatibility_flags ?? [])],
    bindings: { ...config.vars, ...subject.vars },
    d1Databases: Object.fromEntries((config.d1_databases ?? []).map((d1) => [d1.binding, d1.database_id])),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      stdout.resume()
      stderr.resume()
    }
  })
  try {
    await mf.ready
    const ready = performance.now()
    const response = await mf.dispatchFetch(`http://127.0.0.1${subject.path}`)
    const body = await response.text()
    const answered = performance.now()
    if (response.status !== 200) {
      throw new Error(`${subject.config}: ${subject.path} answered ${response.status} ${body}`)
    }
    return { startMs: ready - started, firstAnswerMs: answered - ready, totalMs: answered - started }
  } finally {
    await mf.dispose()
  }
}

const medians = (timings: ReadonlyArray<ColdStartTiming>): ColdStartTiming => ({
  startMs: median(timings.map((t) => t.startMs)),
  firstAnswerMs: median(timings.map((t) => t.firstAnswerMs)),
  totalMs: median(timings.map((t) => t.totalMs))
})

export const measureColdStart = async (
  samples: number,
  progress: (line: string) => void = () => {}
): Promise<ColdStart> => {
  const dir = mkdtempSync(join(tmpdir(), "users-api-cold-start-"))
  try {
    const serviceConfig = join(ROOT, "wrangler.toml")
    const bareConfig = benchWorkerConfig(dir, "bare-worker.ts")
    progress("cold start: bundling the service and the bare Worker with wrangler deploy --dry-run ...")
    const script = await bundleWorker(serviceConfig, undefined, join(dir, "service"))
    const key = await generateSigningKey("cold-start")
    const service: Subject = {
      config: serviceConfig,
      script,
      path: "/healthz",
      vars: { JWKS: JSON.stringify(jwksOf(key)), IDEMPOTENCY_HASH_KEY: "cold-start-idempotency-hash-key-0123456789" }
    }
    const bare: Subject = {
      config: bareConfig,
      script: await bundleWorker(bareConfig, undefined, join(dir, "bare")),
      path: "/",
      vars: {}
    }
    const bytes = readFileSync(script)
    await sample(service)
    await sample(bare)
    const runs = []
    for (let i = 1; i <= samples; i++) {
      const pair = { service: await sample(service), bare: await sample(bare) }
      progress(
        `cold start ${i}/${samples}: service ${Math.round(pair.service.totalMs)} ms, bare Worker ` +
          `${Math.round(pair.bare.totalMs)} ms`
      )
      runs.push(pair)
    }
    return {
      bundleBytes: bytes.length,
      bundleGzipBytes: gzipSync(bytes).length,
      samples,
      service: medians(runs.map((r) => r.service)),
      bare: medians(runs.map((r) => r.bare)),
      runs
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`
const ms = (t: ColdStartTiming) =>
  `${Math.round(t.totalMs)} ms (start ${Math.round(t.startMs)} + first answer ${Math.round(t.firstAnswerMs)})`

export const formatColdStart = (c: ColdStart): string =>
  [
    `Worker bundle: ${c.bundleBytes} bytes (${kb(c.bundleBytes)}), gzip ${c.bundleGzipBytes} bytes (${
      kb(c.bundleGzipBytes)
    })`,
    `cold start, median of ${c.samples} fresh Miniflares: service ${ms(c.service)}; bare D1 Worker ${ms(c.bare)}; ` +
    `service - bare ${Math.round(c.service.totalMs - c.bare.totalMs)} ms`
  ].join("\n")

if (import.meta.main) {
  const { values } = parseArgs({
    options: { samples: { type: "string", default: "5" }, json: { type: "boolean", default: false } }
  })
  const samples = Number(values.samples)
  if (!Number.isInteger(samples) || samples < 1) {
    console.error(`cold-start: --samples must be a positive whole number, not ${JSON.stringify(values.samples)}`)
    process.exit(2)
  }
  const result = await measureColdStart(samples, (line) => process.stderr.write(`${line}\n`))
  process.stdout.write(`${values.json ? JSON.stringify(result) : formatColdStart(result)}\n`)
  // runToEnd's time limit (processes.ts) is a timer that would hold the process for two minutes more.
  process.exit(0)
}
