/**
 * The bench's summary per runtime and workload (the JSON printed with --json and written to bench/results),
 * and the plain-text table printed otherwise (`-` where a runtime has no such figure).
 */
import type { Ceiling } from "./ceiling.js"

export interface Summary {
  readonly runtime: string
  readonly connections: number
  readonly durationS: number
  readonly users: number
  readonly endpointRps: number
  readonly endpointP50Ms: number
  readonly endpointP99Ms: number
  /** Non-2xx answers, connection errors and timeouts of the endpoint, summed over the runs. */
  readonly errors: number
  readonly baselineRps: number
  /** endpointRps / baselineRps, both medians over the runs. */
  readonly ratio: number
  /** The endpoint written by hand without Effect (handwritten.ts, handwritten-worker.ts), median over the runs. */
  readonly handwrittenRps?: number
  /** endpointRps / handwrittenRps. */
  readonly handwrittenRatio?: number
  /** Bun: the hand-written endpoint served through HttpApi (handwritten-httpapi.ts), median over the runs. */
  readonly handwrittenHttpApiRps?: number
  /** endpointRps / handwrittenHttpApiRps. */
  readonly handwrittenHttpApiRatio?: number
  /** Bun and Workers: the floor of any endpoint through HttpApi (bare-httpapi-bun.ts, bare-httpapi-worker.ts). */
  readonly floorRps?: number
  /** floorRps / baselineRps: the most of the baseline an endpoint through HttpApi keeps. */
  readonly floorRatio?: number
  /**
   * Every runtime: the design's floor, the hand-written endpoint with the service's credential cache behind one
   * HttpApi route (handwritten-cached-httpapi.ts, handwritten-cached-httpapi-worker.ts), median over the runs.
   */
  readonly designFloorRps?: number
  /** designFloorRps / baselineRps: the most of the baseline any implementation of this design keeps. */
  readonly designFloorRatio?: number
  /** endpointRps / designFloorRps: what the service keeps of it, the price of this project's layering. */
  readonly endpointToDesignFloor?: number
  /** Bun and Deno: the storage ceiling with the two reads (ceiling.ts), measured once per bench. */
  readonly ceilingTxPerS?: number
  /** endpointRps / ceilingTxPerS. */
  readonly ceilingRatio?: number
  /** Peak resident memory of the server's process tree during a run (median over the runs). */
  readonly rssMb: number
  readonly [extra: string]: unknown
}

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
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
  ["hand rps", (s) => s.handwrittenRps?.toFixed(0) ?? "-"],
  ["hand ratio", (s) => s.handwrittenRatio?.toFixed(3) ?? "-"],
  ["hand+api rps", (s) => s.handwrittenHttpApiRps?.toFixed(0) ?? "-"],
  ["hand+api ratio", (s) => s.handwrittenHttpApiRatio?.toFixed(3) ?? "-"],
  ["floor rps", (s) => s.floorRps?.toFixed(0) ?? "-"],
  ["floor ratio", (s) => s.floorRatio?.toFixed(3) ?? "-"],
  ["design rps", (s) => s.designFloorRps?.toFixed(0) ?? "-"],
  ["design ratio", (s) => s.designFloorRatio?.toFixed(3) ?? "-"],
  ["÷ design", (s) => s.endpointToDesignFloor?.toFixed(3) ?? "-"],
  ["ceiling tx/s", (s) => s.ceilingTxPerS?.toFixed(0) ?? "-"],
  ["ceil ratio", (s) => s.ceilingRatio?.toFixed(3) ?? "-"],
  ["rss MB", (s) => s.rssMb.toFixed(0)]
]

/** What a column means, printed under the table when some summary has the field. */
const LEGENDS: ReadonlyArray<readonly [keyof Summary, string]> = [
  [
    "handwrittenRps",
    "hand rps: the endpoint written by hand on the runtime's server and store, no Effect " +
    "(scripts/bench/handwritten.ts, handwritten-worker.ts); hand ratio = endpoint rps ÷ hand rps"
  ],
  [
    "handwrittenHttpApiRps",
    "hand+api rps: the same hand-written endpoint as the work of one HttpApi route " +
    "(scripts/bench/handwritten-httpapi.ts); hand+api ratio = endpoint rps ÷ hand+api rps"
  ],
  [
    "floorRps",
    "floor rps: the floor of any endpoint through HttpApi (bun: one route, fixed answer, bare-httpapi-bun.ts; " +
    "worker: the bare Worker's write behind one route, bare-httpapi-worker.ts); floor ratio = floor rps ÷ baseline rps"
  ],
  [
    "designFloorRps",
    "design rps: the design's floor, the hand-written endpoint with the service's credential cache behind one " +
    "HttpApi route (handwritten-cached-httpapi.ts, handwritten-cached-httpapi-worker.ts); design ratio = design " +
    "rps ÷ baseline rps; ÷ design = endpoint rps ÷ design rps"
  ],
  [
    "ceilingTxPerS",
    "ceiling tx/s: the storage ceiling with the two reads (below); ceil ratio = endpoint rps ÷ ceiling tx/s"
  ]
]

export const formatTable = (summaries: ReadonlyArray<Summary>, ceiling: Ceiling | undefined): string => {
  const rows = [COLUMNS.map(([title]) => title), ...summaries.map((s) => COLUMNS.map(([, cell]) => cell(s)))]
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const lines = rows.map((row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")
  )
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "))
  const notes = summaries.length === 0 ? [] : [
    "",
    `medians of ${(summaries[0]!.runs as Array<unknown>).length} runs, ${summaries[0]!.durationS} s each after a ` +
    `${summaries[0]!.warmupS} s warm-up; errors summed over the runs`,
    ...[...new Set(summaries.map((s) => `baseline for ${s.runtime}: ${s.baseline}`))],
    ...LEGENDS.filter(([field]) => summaries.some((s) => s[field] !== undefined)).map(([, legend]) => legend)
  ]
  if (ceiling !== undefined) {
    notes.push(
      `storage ceiling (bun:sqlite, server pragmas, synchronous=${ceiling.synchronous}): ` +
        `${Math.round(ceiling.writeTxPerS)} tx/s for UPDATE users + INSERT event, ` +
        `${Math.round(ceiling.readWriteTxPerS)} tx/s with the user and chain-head reads`
    )
  }
  return [...lines, ...notes].join("\n")
}
