// A decider. Events lack the raw number (PII, erasable), so state cannot be rebuilt from them:
// `decide` returns the next state with the event, and the store writes both atomically.
import type { Actor, PhoneFingerprints, UserEvent } from "./events.js"
import type { E164, MaskedPhoneNumber } from "./phone.js"

export type { Actor, EventMetadata, PhoneFingerprints, UserEvent } from "./events.js"

export interface CommandMetadata {
  readonly organizationId: string
  readonly actor: Actor
  readonly requestId: string
  readonly eventId: string
  readonly now: string
}

export interface User {
  readonly organizationId: string
  readonly id: string
  readonly phoneNumber: E164 | null
  readonly phoneNumberVerified: boolean
  readonly erasedAt: string | null
  readonly version: number
}

export type UserCommand =
  | { readonly type: "CreateUser"; readonly userId: string; readonly phoneNumber: E164 | null }
  | { readonly type: "UpdatePhoneNumber"; readonly userId: string; readonly phoneNumber: E164 | null }
  | { readonly type: "MarkPhoneNumberVerified"; readonly userId: string; readonly phoneNumber: E164 }
  | { readonly type: "ErasePersonalData"; readonly userId: string }

export type Decision =
  | { readonly _tag: "Unchanged"; readonly state: User }
  | {
    readonly _tag: "Changed"
    readonly state: User
    readonly event: UserEvent
    readonly fingerprints?: PhoneFingerprints
  }

export type Rejection =
  | { readonly _tag: "UserNotFound" }
  | { readonly _tag: "UserAlreadyExists"; readonly state: User }
  | { readonly _tag: "UserErased"; readonly state: User }
  | { readonly _tag: "NoPhoneNumber"; readonly state: User }
  | { readonly _tag: "PhoneNumberChanged"; readonly state: User }

export type Mask = (phoneNumber: E164 | null) => MaskedPhoneNumber | null

export interface CommittedFingerprint {
  readonly fingerprint: string
  readonly salt: string
  readonly commitment: string
}

export type FingerprintOf = (phoneNumber: E164) => CommittedFingerprint | undefined

const noFingerprints: FingerprintOf = () => undefined

export const decide = (
  command: UserCommand,
  state: User | null,
  metadata: CommandMetadata,
  mask: Mask,
  fingerprintOf: FingerprintOf = noFingerprints
): Decision | Rejection => {
  // Omitted, not null, when absent: events look the same without a fingerprint key.
  let fingerprints: Record<string, string> | undefined
  const commit = <Field extends "phoneNumber" | "previousPhoneNumber">(field: Field, phoneNumber: E164 | null) => {
    const value = phoneNumber === null ? undefined : fingerprintOf(phoneNumber)
    if (value === undefined) return {} as { readonly [K in `${Field}Commitment`]?: string }
    fingerprints = { ...fingerprints, [`${field}Fingerprint`]: value.fingerprint, [`${field}Salt`]: value.salt }
    return { [`${field}Commitment`]: value.commitment } as { readonly [K in `${Field}Commitment`]?: string }
  }
  const changed = (next: User, event: UserEvent): Decision =>
    fingerprints === undefined
      ? { _tag: "Changed", state: next, event }
      : { _tag: "Changed", state: next, event, fingerprints }
  const event = <Type extends UserEvent["type"], Data>(type: Type, version: number, data: Data) => ({
    id: metadata.eventId,
    type,
    aggregateType: "User" as const,
    aggregateId: command.userId,
    version,
    occurredAt: metadata.now,
    data,
    metadata: { organizationId: metadata.organizationId, actor: metadata.actor, requestId: metadata.requestId }
  })
  if (command.type === "CreateUser") {
    if (state !== null) {
      // Same answer whatever the number, or a caller that may not read numbers could confirm a guess
      // (docs/DECISIONS.md, "Creating a user twice").
      return state.erasedAt !== null ? { _tag: "UserErased", state } : { _tag: "UserAlreadyExists", state }
    }
    const next: User = {
      organizationId: metadata.organizationId,
      id: command.userId,
      phoneNumber: command.phoneNumber,
      phoneNumberVerified: false,
      erasedAt: null,
      version: 1
    }
    return changed(
      next,
      event("UserCreated", 1, {
        maskedPhoneNumber: mask(command.phoneNumber),
        ...commit("phoneNumber", command.phoneNumber)
      })
    )
  }
  if (state === null) return { _tag: "UserNotFound" }
  switch (command.type) {
    case "UpdatePhoneNumber": {
      if (state.erasedAt !== null) return { _tag: "UserErased", state }
      if (state.phoneNumber === command.phoneNumber) return { _tag: "Unchanged", state }
      const next: User = {
        ...state,
        phoneNumber: command.phoneNumber,
        phoneNumberVerified: false,
        version: state.version + 1
      }
      return changed(
        next,
        event("UserPhoneNumberUpdated", next.version, {
          maskedPhoneNumber: mask(command.phoneNumber),
          previousMaskedPhoneNumber: mask(state.phoneNumber),
          phoneNumberVerified: false as const,
          ...commit("phoneNumber", command.phoneNumber),
          ...commit("previousPhoneNumber", state.phoneNumber)
        })
      )
    }
    case "MarkPhoneNumberVerified": {
      if (state.erasedAt !== null) return { _tag: "UserErased", state }
      if (state.phoneNumber === null) return { _tag: "NoPhoneNumber", state }
      // So a number changed meanwhile is never marked verified.
      if (state.phoneNumber !== command.phoneNumber) return { _tag: "PhoneNumberChanged", state }
      if (state.phoneNumberVerified) return { _tag: "Unchanged", state }
      const next: User = { ...state, phoneNumberVerified: true, version: state.version + 1 }
      return changed(
        next,
        event("UserPhoneNumberVerified", next.version, {
          maskedPhoneNumber: mask(state.phoneNumber)!,
          ...commit("phoneNumber", state.phoneNumber)
        })
      )
    }
    case "ErasePersonalData": {
      if (state.erasedAt !== null) return { _tag: "Unchanged", state }
      const next: User = {
        ...state,
        phoneNumber: null,
        phoneNumberVerified: false,
        erasedAt: metadata.now,
        version: state.version + 1
      }
      return changed(next, event("UserPersonalDataErased", next.version, { erasedFields: ["phoneNumber" as const] }))
    }
    default:
      return assertNever(command)
  }
}

const assertNever = (value: never): never => {
  throw new Error(`unhandled command: ${JSON.stringify(value)}`)
}
