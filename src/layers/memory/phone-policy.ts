// Policies and code counts in maps: each allowance is one synchronous step, so it is atomic.
import { Clock, Effect } from "effect"
import {
  CODE_LIMITS,
  DEFAULT_PHONE_POLICY,
  type PhonePolicies,
  type PhonePolicy,
  rateLimited,
  windowOf
} from "../../services/phone-policy.js"

export const memoryPhonePolicies = (): PhonePolicies["Type"] => {
  const policies = new Map<string, PhonePolicy>()
  const counts = new Map<string, number>()
  const get = (organizationId: string) => Effect.sync(() => policies.get(organizationId) ?? DEFAULT_PHONE_POLICY)
  return {
    get,
    put: (organizationId, policy) => Effect.sync(() => (policies.set(organizationId, policy), policy)),
    takeCodeAllowance: ({ numberKey, organizationId, userId }) =>
      Effect.flatMap(Effect.zip(get(organizationId), Clock.currentTimeMillis), ([policy, now]) =>
        Effect.suspend(() => {
          const subjects = { "per-number": numberKey, "per-user": userId, "per-organization": "" }
          const keys = CODE_LIMITS.map((limit) =>
            [organizationId, limit.name, subjects[limit.name], windowOf(limit.windowSeconds, now).start].join("\u0000")
          )
          for (const [i, limit] of CODE_LIMITS.entries()) {
            const quota = policy.codeLimits[limit.field]
            if ((counts.get(keys[i]!) ?? 0) >= quota) return Effect.fail(rateLimited(limit, quota, now))
          }
          for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1)
          return Effect.void
        }))
  }
}
