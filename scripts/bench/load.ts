/**
 * One load run with autocannon's programmatic API: a warm-up and the measured window in one instance (so no
 * built-but-unsent request sits between them and every request of the sequence reaches the server), with
 * latency taken from autocannon's per-response times (fractional ms) and counted only inside the window.
 * Given several URLs (several servers, e.g. Worker isolates), one instance per URL runs at the same time, each with
 * `connections` of its own, all drawing from the one request sequence and counted together.
 */
import autocannon from "autocannon"

export interface LoadOptions {
  readonly url: string | ReadonlyArray<string>
  /** Connections to each URL. */
  readonly connections: number
  readonly warmupS: number
  readonly durationS: number
  readonly headers: Record<string, string>
  /** The next request; its headers, if any, are added to `headers`. */
  readonly next: () => {
    readonly path: string
    readonly body: string
    readonly headers?: Record<string, string>
  }
  /** Every answer (warm-up included), with its body; the URL's index in `url` says which server answered. */
  readonly onAnswer?: (status: number, body: string, urlIndex: number) => void
}

export interface LoadResult {
  readonly rps: number
  /** 2xx answers per second in the window (`rps` counts every answer). */
  readonly okRps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Non-2xx answers, connection errors and timeouts over the whole run, warm-up included. */
  readonly errors: number
  /** 2xx answers over the whole run, warm-up included (each one wrote an event on the endpoint). */
  readonly ok: number
  /** Requests autocannon gave up on after its 10 s timeout (counted in `errors` and as `statusCodes.error` too). */
  readonly timeouts: number
  readonly statusCodes: Record<string, number>
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export const runLoad = async (options: LoadOptions): Promise<LoadResult> => {
  const urls = typeof options.url === "string" ? [options.url] : options.url
  const started = performance.now()
  const windowStart = started + options.warmupS * 1000
  const times: Array<number> = []
  const statusCodes: Record<string, number> = {}
  let ok = 0
  let failed = 0
  let windowEnd = windowStart
  let okInWindow = 0
  const instances = urls.map((url, urlIndex) => {
    const onAnswer = options.onAnswer
    const instance = autocannon({
      url,
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
            if (next.headers !== undefined) {
              request.headers = { ...(request.headers as Record<string, string>), ...next.headers }
            }
            return request
          },
          ...(onAnswer === undefined
            ? {}
            : { onResponse: (status: number, body: string) => onAnswer(status, body, urlIndex) })
        }
      ]
    })
    instance.on("response", (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      statusCodes[status] = (statusCodes[status] ?? 0) + 1
      if (status >= 200 && status < 300) ok++
      else failed++
      const now = performance.now()
      if (now >= windowStart) {
        times.push(responseTime)
        if (status >= 200 && status < 300) okInWindow++
        windowEnd = now
      }
    })
    instance.on("reqError", () => {
      failed++
      statusCodes.error = (statusCodes.error ?? 0) + 1
    })
    return instance
  })
  const results = await Promise.all(instances)
  const sorted = Float64Array.from(times).sort()
  const windowS = Math.max(0.001, (windowEnd - windowStart) / 1000)
  return {
    rps: times.length / windowS,
    okRps: okInWindow / windowS,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors: Math.max(failed, results.reduce((sum, result) => sum + result.errors + result.non2xx, 0)),
    ok,
    timeouts: results.reduce((sum, result) => sum + result.timeouts, 0),
    statusCodes
  }
}
