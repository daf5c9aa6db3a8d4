/**
 * The benchmark's workload: N users of one organization, two valid phone numbers per user (unique within the
 * organization), and a request sequence in which every request targets the next user and alternates that
 * user's two numbers, so each one changes the number and writes an event. Credentials are what a B2B caller
 * sends: one service token (users:write) and the organization's API key, on every request.
 */
import { parsePhoneNumberFromString } from "libphonenumber-js/max"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { generateApiKey } from "../../src/layers/auth/api-keys.js"
import { sha256Hex } from "../../src/sha256.js"
import { ORGANIZATION_ID } from "./bare-write.js"

// The organization is bare-write.ts's, which the bench's Workers import without this module's signing.
export { ORGANIZATION_ID }
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
export const validNumbers = (count: number): Array<string> => {
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
