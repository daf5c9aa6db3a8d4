// The verified change of number as a decider beside user.ts: a request appends an event and keeps a pending change;
// a confirmed code applies it, releasing the number from an unverified (or, by policy, any) holder in the same write.
import type { UserPhoneNumberChangeRequested, UserPhoneNumberReleased } from "./events.js"
import type { E164, MaskedPhoneNumber } from "./phone.js"
import { type CommandMetadata, decide, type Decision, type FingerprintOf, type Mask, type User } from "./user.js"

export const CODE_TTL_MS = 10 * 60 * 1000
export const MAX_CODE_ATTEMPTS = 5

export interface PendingPhoneNumberChange {
  readonly id: string
  readonly phoneNumber: E164
  readonly maskedPhoneNumber: MaskedPhoneNumber
  /** HMAC-SHA-256 of the code under the server's key: the code itself is never kept. */
  readonly codeHash: string
  readonly attempts: number
  readonly expiresAt: string
}

export type Delivery = "send-code" | "return-code"

/** What the store writes beside the event: the pending change put, or cleared. */
export type PendingWrite =
  | { readonly _tag: "Put"; readonly change: PendingPhoneNumberChange }
  | { readonly _tag: "Clear" }

export interface Released {
  readonly state: User
  readonly event: UserPhoneNumberReleased
}

export type PhoneChangeDecision = Extract<Decision, { readonly _tag: "Changed" }> & {
  readonly pending: PendingWrite
  readonly released?: Released
}

export type PhoneChangeRejection =
  | { readonly _tag: "UserNotFound" }
  | { readonly _tag: "UserErased" }
  | { readonly _tag: "NoPendingChange" }
  | { readonly _tag: "VerificationExpired" }
  | { readonly _tag: "PhoneNumberInUse" }

const metadataOf = (metadata: CommandMetadata) => ({
  organizationId: metadata.organizationId,
  actor: metadata.actor,
  requestId: metadata.requestId
})

export const requestChange = (
  state: User | null,
  pending: PendingPhoneNumberChange,
  delivery: Delivery,
  metadata: CommandMetadata
): PhoneChangeDecision | PhoneChangeRejection => {
  if (state === null) return { _tag: "UserNotFound" }
  if (state.erasedAt !== null) return { _tag: "UserErased" }
  const next: User = { ...state, version: state.version + 1 }
  const event: UserPhoneNumberChangeRequested = {
    id: metadata.eventId,
    type: "UserPhoneNumberChangeRequested",
    aggregateType: "User",
    aggregateId: state.id,
    version: next.version,
    occurredAt: metadata.now,
    data: {
      pendingChangeId: pending.id,
      maskedPhoneNumber: pending.maskedPhoneNumber,
      delivery,
      expiresAt: pending.expiresAt
    },
    metadata: metadataOf(metadata)
  }
  return { _tag: "Changed", state: next, event, pending: { _tag: "Put", change: pending } }
}

export interface ConfirmInput {
  readonly pending: PendingPhoneNumberChange | null
  /** Another user of the organization holding the pending number, if any. */
  readonly holder: User | null
  readonly releaseVerifiedHolder: boolean
  /** The holder's event is a second event of the same request. */
  readonly releaseEventId: string
}

/** The code was checked already (a keyed hash is no domain matter); this decides what the proof changes. */
export const confirmChange = (
  state: User | null,
  input: ConfirmInput,
  metadata: CommandMetadata,
  mask: Mask,
  fingerprintOf?: FingerprintOf
): PhoneChangeDecision | PhoneChangeRejection => {
  if (state === null) return { _tag: "UserNotFound" }
  if (state.erasedAt !== null) return { _tag: "UserErased" }
  const { pending } = input
  if (pending === null) return { _tag: "NoPendingChange" }
  if (metadata.now >= pending.expiresAt || pending.attempts > MAX_CODE_ATTEMPTS) return { _tag: "VerificationExpired" }
  const clear = { _tag: "Clear" } as const
  if (pending.phoneNumber === state.phoneNumber) {
    // Re-verifying the current number: marked verified even if it was, so the proof is on the record.
    const decision = decide(
      { type: "MarkPhoneNumberVerified", userId: state.id, phoneNumber: pending.phoneNumber },
      { ...state, phoneNumberVerified: false },
      metadata,
      mask,
      fingerprintOf
    )
    if (decision._tag !== "Changed") return { _tag: "UserNotFound" }
    return { ...decision, pending: clear }
  }
  const holder = input.holder !== null && input.holder.id !== state.id ? input.holder : null
  if (holder !== null && holder.phoneNumberVerified && !input.releaseVerifiedHolder) {
    return { _tag: "PhoneNumberInUse" }
  }
  const decision = decide(
    { type: "UpdatePhoneNumber", userId: state.id, phoneNumber: pending.phoneNumber },
    state,
    metadata,
    mask,
    fingerprintOf
  )
  if (decision._tag !== "Changed" || decision.event.type !== "UserPhoneNumberUpdated") return { _tag: "UserNotFound" }
  const proven: PhoneChangeDecision = {
    ...decision,
    state: { ...decision.state, phoneNumberVerified: true },
    event: { ...decision.event, data: { ...decision.event.data, phoneNumberVerified: true } },
    pending: clear
  }
  return holder === null ? proven : { ...proven, released: release(holder, pending, input.releaseEventId, metadata) }
}

const release = (
  holder: User,
  pending: PendingPhoneNumberChange,
  eventId: string,
  metadata: CommandMetadata
): Released => {
  const state: User = { ...holder, phoneNumber: null, phoneNumberVerified: false, version: holder.version + 1 }
  return {
    state,
    event: {
      id: eventId,
      type: "UserPhoneNumberReleased",
      aggregateType: "User",
      aggregateId: holder.id,
      version: state.version,
      occurredAt: metadata.now,
      data: { maskedPhoneNumber: pending.maskedPhoneNumber, reason: "verified-by-another-user" },
      metadata: metadataOf(metadata)
    }
  }
}
