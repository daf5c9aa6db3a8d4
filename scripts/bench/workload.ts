/**
 * The benchmark's workload: N users of one organization, two valid phone numbers per user (unique within the
 * organization), and a request sequence in which every request targets the next user and alternates that
 * user's two numbers, so each one changes the number and writes an event. Credentials are what a B2B caller
 * sends: one service token (users:write) and the organization's API key, on every request. Below, the load:
 * autocannon's programmatic API sending that sequence, and the statistics of its answers.
 */
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { createRequire } from "node:module"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { generateApiKey } from "../../src/layers/auth/api-keys.js"
import { sha256Hex } from "../../src/sha256.js"

export const ORGANIZATION_ID = "org_bench"
export const SERVICE_ID = "svc_bench"

export interface Credentials {
  readonly apiKey: string
  readonly apiKeyHash: string
  readonly serviceToken: string
  /** What the server needs in production mode: JWT_ISSUER, JWT_AUDIENCE, JWKS (to trust the token), IDEMPOTENCY_HASH_KEY. */
  readonly serverEnv: Record<string, string>
}

export const makeCredentials = async (): Promise<Credentials> => {
  const { serverEnv, tenants: [tenant] } = await makeTenants([ORGANIZATION_ID])
  return { ...tenant!, serverEnv }
}

/** One organization's caller: its API key and a service token (users:write) of that organization. */
export interface Tenant {
  readonly organizationId: string
  readonly apiKey: string
  readonly apiKeyHash: string
  readonly serviceToken: string
}

/** A caller per organization, every token signed by one key (so one JWKS serves them all). */
export const makeTenants = async (
  organizationIds: ReadonlyArray<string>
): Promise<{ readonly serverEnv: Record<string, string>; readonly tenants: ReadonlyArray<Tenant> }> => {
  const key = await generateSigningKey("bench-key")
  const tenants = await Promise.all(organizationIds.map(async (organizationId) => {
    const apiKey = generateApiKey()
    return {
      organizationId,
      apiKey,
      apiKeyHash: sha256Hex(apiKey),
      serviceToken: await signServiceToken(key, SERVICE_ID, organizationId, "users:write", { expiresIn: "2h" })
    }
  }))
  const serverEnv = {
    JWT_ISSUER: DEV_ISSUER,
    JWT_AUDIENCE: DEV_AUDIENCE,
    JWKS: JSON.stringify(jwksOf(key)),
    IDEMPOTENCY_HASH_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")
  }
  return { serverEnv, tenants }
}

// US numbers spread over a few area codes; each candidate is checked with the same metadata the service uses.
const AREA_CODES = ["212", "312", "415", "617", "646", "718", "917", "206", "303", "512"]

/** `count` distinct valid numbers in E.164, deterministic for a given count. */
const validNumbers = (count: number): Array<string> => {
  const numbers: Array<string> = []
  for (let exchange = 234; exchange <= 989 && numbers.length < count; exchange++) {
    for (const area of AREA_CODES) {
      for (let line = 1000; line <= 9999 && numbers.length < count; line += 7) {
        const candidate = `+1${area}${exchange}${line}`
        const parsed = parsePhoneNumberFromString(candidate)
        if (parsed !== undefined && parsed.isValid() && parsed.number === candidate) numbers.push(candidate)
      }
      if (numbers.length >= count) break
    }
  }
  if (numbers.length < count) throw new Error(`only ${numbers.length} valid numbers for ${count}`)
  return numbers
}

export interface BenchUser {
  readonly id: string
  /** Stored by the seed; requests alternate `first`, `seeded`, `first`, ... */
  readonly seeded: string
  readonly first: string
}

export const makeUsers = (count: number): Array<BenchUser> => {
  const numbers = validNumbers(count * 2)
  return Array.from({ length: count }, (_, i) => ({
    id: `bench-${String(i).padStart(6, "0")}`,
    seeded: numbers[2 * i + 1]!,
    first: numbers[2 * i]!
  }))
}

/**
 * The n-th request of a run (n counts on across warm-up and measurement): user n mod N, pass n div N; even
 * passes set `first`, odd passes set `seeded` back. Consecutive requests for one user are N requests apart,
 * so with N > connections a user never has two requests in flight.
 */
export const makeSequence = (users: ReadonlyArray<BenchUser>) => {
  let n = 0
  return {
    next: () => {
      const user = users[n % users.length]!
      const pass = Math.floor(n / users.length)
      n++
      return {
        user,
        path: `/users/${user.id}/UpdatePhoneNumber`,
        body: `{"phoneNumber":"${pass % 2 === 0 ? user.first : user.seeded}"}`
      }
    },
    get sent() {
      return n
    }
  }
}

/** The part of autocannon's API used here (autocannon ships no types); loaded on first use. */
interface Autocannon {
  (options: Record<string, unknown>): PromiseLike<{ errors: number; timeouts: number; non2xx: number }> & {
    on(event: "response", listener: (client: unknown, status: number, bytes: number, time: number) => void): unknown
    on(event: "reqError", listener: (error: unknown) => void): unknown
  }
}
const autocannon: Autocannon = (options) => (createRequire(import.meta.url)("autocannon") as Autocannon)(options)

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

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

/**
 * One load run: warm-up and window in one autocannon instance (no request lost between them), latency counted
 * only inside the window; one instance per URL at once, all drawing from the one sequence and counted together.
 */
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
