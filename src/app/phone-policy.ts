/** Reading and replacing an organization's phone policy: the auditors read it, policy:write replaces it. */
import { Effect } from "effect"
import type { PhonePolicy } from "../domain/phone-policy.js"
import { CurrentPrincipal } from "../services/auth.js"
import { PhonePolicies } from "../services/phone-policy.js"
import { authorizeAuditRead, authorizePolicyWrite } from "./authorize.js"
import { OrganizationNotFound } from "./errors.js"

const ownOrganization = (organizationId: string, authorize: typeof authorizeAuditRead) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    Effect.zipRight(
      authorize(principal),
      organizationId === principal.organizationId ? Effect.void : Effect.fail(new OrganizationNotFound())
    ))

export const readPhonePolicy = (organizationId: string) =>
  Effect.zipRight(
    ownOrganization(organizationId, authorizeAuditRead),
    Effect.flatMap(PhonePolicies, (policies) => policies.get(organizationId))
  )

/** Authorized before the body is read; the returned function replaces the policy. */
export const authorizePutPhonePolicy = (organizationId: string) =>
  Effect.zipRight(
    ownOrganization(organizationId, authorizePolicyWrite),
    Effect.map(PhonePolicies, (policies) => (policy: PhonePolicy) => policies.put(organizationId, policy))
  )
