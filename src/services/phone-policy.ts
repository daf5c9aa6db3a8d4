/**
 * Each organization's phone policy and its count of verification codes. `takeCodeAllowance` counts one code against
 * the three limits in one atomic write, or counts nothing and fails with what the 429's headers need.
 */
import { Context, type Effect } from "effect"
import * as Schema from "effect/Schema"
import type { PhonePolicy } from "../domain/phone-policy.js"
import { problem } from "../domain/problem.js"
import type { StoreUnavailable } from "./errors.js"

export {
  checkNumberAllowed,
  CodeLimits,
  DEFAULT_CODE_LIMITS,
  DEFAULT_PHONE_POLICY,
  LINE_TYPES,
  LineType,
  PhoneNumberNotAllowed,
  PhonePolicy,
  RegionCode
} from "../domain/phone-policy.js"

export const CODE_LIMITS = [
  { name: "per-number", field: "perNumberPerHour", windowSeconds: 3_600 },
  { name: "per-user", field: "perUserPerDay", windowSeconds: 86_400 },
  { name: "per-organization", field: "perOrganizationPerDay", windowSeconds: 86_400 }
] as const
export type CodeLimitName = (typeof CODE_LIMITS)[number]["name"]

const CodeLimitName = Schema.Literal("per-number", "per-user", "per-organization")

interface RateLimited {
  readonly limit: CodeLimitName
  readonly quota: number
  readonly windowSeconds: number
  readonly retryAfterSeconds: number
}

/**
 * A code over one of the organization's limits (fixed windows). The headers follow the IETF httpapi
 * ratelimit-headers draft: the policy exceeded, and nothing left of it until its window ends.
 */
export class VerificationRateLimited extends Schema.TaggedError<VerificationRateLimited>()(
  "VerificationRateLimited",
  {
    limit: CodeLimitName,
    quota: Schema.Int,
    windowSeconds: Schema.Int,
    retryAfterSeconds: Schema.Int
  },
  problem<RateLimited>({
    status: 429,
    title: "Too many verification codes",
    codes: ["verification-rate-limited"],
    detail: (e) =>
      `The organization's ${e.limit} limit of ${e.quota} codes per ${
        e.windowSeconds === 3_600 ? "hour" : "day"
      } is reached; retry after ${e.retryAfterSeconds} seconds.`,
    headers: (e) => ({
      "retry-after": String(e.retryAfterSeconds),
      "ratelimit-policy": `"${e.limit}";q=${e.quota};w=${e.windowSeconds}`,
      "ratelimit": `"${e.limit}";r=0;t=${e.retryAfterSeconds}`
    })
  })
) {}

export interface CodeAllowanceRequest {
  readonly organizationId: string
  readonly userId: string
  /** The number as a key that is not the number (its keyed fingerprint where the service has one): stored hashed. */
  readonly numberKey: string
}

export class PhonePolicies extends Context.Tag("users-api/PhonePolicies")<PhonePolicies, {
  /** The stored policy, or DEFAULT_PHONE_POLICY when the organization never set one. */
  readonly get: (organizationId: string) => Effect.Effect<PhonePolicy, StoreUnavailable>
  /** Replaces the whole policy (absent fields take their defaults); answers the policy as stored. */
  readonly put: (organizationId: string, policy: PhonePolicy) => Effect.Effect<PhonePolicy, StoreUnavailable>
  readonly takeCodeAllowance: (
    request: CodeAllowanceRequest
  ) => Effect.Effect<void, VerificationRateLimited | StoreUnavailable>
}>() {}

/** The fixed window of a limit holding `now`: its start and end, in epoch milliseconds. */
export const windowOf = (windowSeconds: number, now: number) => {
  const size = windowSeconds * 1_000
  const start = Math.floor(now / size) * size
  return { start, end: start + size }
}

export const rateLimited = (
  limit: (typeof CODE_LIMITS)[number],
  quota: number,
  now: number
): VerificationRateLimited =>
  new VerificationRateLimited({
    limit: limit.name,
    quota,
    windowSeconds: limit.windowSeconds,
    retryAfterSeconds: Math.max(1, Math.ceil((windowOf(limit.windowSeconds, now).end - now) / 1_000))
  })
