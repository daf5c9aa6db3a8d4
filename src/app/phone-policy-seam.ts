// What the organization's phone policy decides for the verified change, in one place: until the policy service is
// wired, no region or line-type rule and no code limit apply, and a verified holder keeps its number.
import { Effect } from "effect"
import type { E164 } from "../domain/phone.js"

/** Before a code is issued: a number outside the policy or a code over a limit fails here. */
export const checkBeforeCode = (_organizationId: string, _userId: string, _phoneNumber: E164) => Effect.void

/** `onVerifiedConflict: "release"`: whoever proves possession last takes a verified number too. */
export const releasesVerifiedHolder = (_organizationId: string) => Effect.succeed(false)

/** `selfService: "verify"`: a user token's change is always a send-code change. */
export const userChangesNeedCode = (_organizationId: string) => Effect.succeed(false)
