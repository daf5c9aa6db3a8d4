/**
 * One load run with autocannon's programmatic API: a warm-up and the measured window in one instance (so no
 * built-but-unsent request sits between them and every request of the sequence reaches the server), with
 * latency taken from autocannon's per-response times (fractional ms) and counted only inside the window.
 */
import autocannon from "autocannon"

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  readonly warmupS: number
  readonly durationS: number
  readonly headers: Record<string, string>
  readonly next: () => { readonly path: string; readonly body: string }
}

export interface LoadResult {
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Non-2xx answers, connection errors and timeouts over the whole run, warm-up included. */
  readonly errors: number
  /** 2xx answers over the whole run, warm-up included (each one wrote an event on the endpoint). */
  readonly ok: number
  readonly statusCodes: Record<string, number>
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export const runLoad = async (options: LoadOptions): Promise<LoadResult> => {
  const started = performance.now()
  const windowStart = started + options.warmupS * 1000
  const times: Array<number> = []
  const statusCodes: Record<string, number> = {}
  let ok = 0
  let failed = 0
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.warmupS + options.durationS,
    method: "POST",
    headers: options.headers,
    timeout: 10,
    requests: [
      {
        setupRequest: (request: Record<string, unknown>) => {
          const next = options.next()
          request.path = next.path
          request.body = next.body
          return request
        }
      }
    ]
  })
  let windowEnd = windowStart
  instance.on("response", (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    statusCodes[status] = (statusCodes[status] ?? 0) + 1
    if (status >= 200 && status < 300) ok++
    else failed++
    const now = performance.now()
    if (now >= windowStart) {
      times.push(responseTime)
      windowEnd = now
    }
  })
  instance.on("reqError", () => {
    failed++
    statusCodes.error = (statusCodes.error ?? 0) + 1
  })
  const result = await instance
  const sorted = Float64Array.from(times).sort()
  const windowS = Math.max(0.001, (windowEnd - windowStart) / 1000)
  return {
    rps: times.length / windowS,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors: Math.max(failed, result.errors + result.non2xx),
    ok,
    statusCodes
  }
}
