/**
 * The limits on verification codes and the 429 of a code over one (fixed windows). Without libphonenumber, so the
 * contract and the client can load it.
 */
import * as Schema from "effect/Schema"
import { problem } from "../domain/problem.js"

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
