/**
 * Each organization's phone policy and its count of verification codes. `takeCodeAllowance` counts one code against
 * the three limits in one atomic write, or counts nothing and fails with what the 429's headers need.
 */
import { Context, Effect } from "effect"
import type { PhonePolicy } from "../domain/phone-policy-schema.js"
import type { E164 } from "../domain/phone.js"
import type { VerificationRateLimited } from "./code-limits.js"
import type { StoreUnavailable } from "./errors.js"
import { PhoneNumberKeys } from "./phone-number-keys.js"

export { CODE_LIMITS, type CodeLimitName, rateLimited, VerificationRateLimited, windowOf } from "./code-limits.js"

export {
  CodeLimits,
  DEFAULT_CODE_LIMITS,
  DEFAULT_PHONE_POLICY,
  LINE_TYPES,
  LineType,
  PhoneNumberNotAllowed,
  PhonePolicy,
  RegionCode
} from "../domain/phone-policy-schema.js"
export { checkNumberAllowed } from "../domain/phone-policy.js"

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

/** The `numberKey` of a number: its lookup key (keyed HMAC) when the service has a keying, else the number itself. */
export const codeAllowanceKey = (phoneNumber: E164): Effect.Effect<string> =>
  Effect.map(PhoneNumberKeys, ({ keying }) => keying?.keyOf(phoneNumber) ?? phoneNumber)
