import { Context, type Effect } from "effect"
import type { E164 } from "../domain/phone.js"
import type { CodeDeliveryUnavailable } from "./errors.js"

/** The one place the raw number and the code leave the service; nothing of it is kept after the send. */
export interface CodeDelivery {
  readonly organizationId: string
  readonly userId: string
  /** The pending change's id: the delivery's webhook-id, so a receiver drops a repeat. */
  readonly changeId: string
  readonly phoneNumber: E164
  readonly code: string
  readonly expiresAt: string
}

export class CodeSender extends Context.Tag("users-api/CodeSender")<CodeSender, {
  readonly send: (delivery: CodeDelivery) => Effect.Effect<void, CodeDeliveryUnavailable>
}>() {}

/** The key of the codes' hashes (VERIFICATION_CODE_KEY): a copy of the database checks no code without it. */
export class VerificationSettings extends Context.Tag("users-api/VerificationSettings")<VerificationSettings, {
  readonly hashCode: (changeId: string, code: string) => string
}>() {}
