// What the organization's phone policy decides for the verified change, in one place (src/services/phone-policy.ts):
// the number's region and line type and the code limits before a code is issued, who may keep a verified number.
import { Effect } from "effect"
import type { E164 } from "../domain/phone.js"
import { checkNumberAllowed, codeAllowanceKey, PhonePolicies } from "../services/phone-policy.js"

const policyOf = (organizationId: string) => Effect.flatMap(PhonePolicies, (policies) => policies.get(organizationId))

/** Before a code is issued: 422 phone-number-not-allowed, or 429 verification-rate-limited (one code counted). */
export const checkBeforeCode = (organizationId: string, userId: string, phoneNumber: E164) =>
  Effect.gen(function*() {
    yield* checkNumberAllowed(yield* policyOf(organizationId), phoneNumber)
    const numberKey = yield* codeAllowanceKey(phoneNumber)
    yield* Effect.flatMap(
      PhonePolicies,
      (policies) => policies.takeCodeAllowance({ organizationId, userId, numberKey })
    )
  })

/** `onVerifiedConflict: "release"`: whoever proves possession last takes a verified number too. */
export const releasesVerifiedHolder = (organizationId: string) =>
  Effect.map(policyOf(organizationId), (policy) => policy.onVerifiedConflict === "release")

/** `selfService: "verify"`: a user token's change is always a send-code change. */
export const userChangesNeedCode = (organizationId: string) =>
  Effect.map(policyOf(organizationId), (policy) => policy.selfService === "verify")
