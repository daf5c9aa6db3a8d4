// Numbers appear only masked or as salted commitments (docs/DECISIONS.md, "Erasure that forgets").
// Field order follows docs/CONTRACT.md.
import * as Schema from "effect/Schema"
import { MaskedPhoneNumber } from "./masked-phone-number.js"

export const Actor = Schema.Struct({ type: Schema.Literal("user", "service"), id: Schema.String })
export type Actor = typeof Actor.Type

export const EventMetadata = Schema.Struct({
  organizationId: Schema.String,
  actor: Actor,
  requestId: Schema.String.annotations({
    description: "The server's own id of the request (UUID v7), never the caller's X-Request-Id; the request's log " +
      "line names it as serverRequestId."
  })
})
export type EventMetadata = typeof EventMetadata.Type

// The description on the string, where a reference page shows it.
const Masked = Schema.NullOr(
  MaskedPhoneNumber.annotations({ description: "Four * and the last four digits; null when there is no number." })
)

const Commitment = Schema.optional(
  Schema.String.annotations({
    description:
      "Present when the service has a fingerprint key: sha256: and the hex SHA-256 of <salt>:<fingerprint>. " +
      "The fingerprint and salt are served beside the event (`fingerprints`) until the user is erased."
  })
)

// Older events carry the fingerprint itself; erasure removes it.
const LegacyFingerprint = Schema.optional(
  Schema.String.annotations({
    description: "Only on events written before commitments: hmac-sha256:<base64url> of the number, until erasure."
  })
)

const event = <Type extends string, Data extends Schema.Struct.Fields>(type: Type, data: Data) =>
  Schema.Struct({
    id: Schema.String.annotations({ description: "UUID v7" }),
    type: Schema.Literal(type),
    aggregateType: Schema.Literal("User"),
    aggregateId: Schema.String,
    version: Schema.Int.annotations({ description: "The user's version this event made: 1, 2, 3… without a gap." }),
    occurredAt: Schema.String.annotations({ description: "ISO-8601" }),
    data: Schema.Struct(data),
    metadata: EventMetadata
  }).annotations({ identifier: type })

export const UserCreated = event("UserCreated", {
  maskedPhoneNumber: Masked,
  phoneNumberCommitment: Commitment,
  phoneNumberFingerprint: LegacyFingerprint
})
export type UserCreated = typeof UserCreated.Type

export const UserPhoneNumberUpdated = event("UserPhoneNumberUpdated", {
  maskedPhoneNumber: Masked,
  previousMaskedPhoneNumber: Masked,
  phoneNumberVerified: Schema.Boolean.annotations({
    description:
      "false for a direct change; true when the new number was proven with a code (ConfirmPhoneNumberChange)."
  }),
  phoneNumberCommitment: Commitment,
  previousPhoneNumberCommitment: Commitment,
  phoneNumberFingerprint: LegacyFingerprint,
  previousPhoneNumberFingerprint: LegacyFingerprint
})
export type UserPhoneNumberUpdated = typeof UserPhoneNumberUpdated.Type

export const UserPhoneNumberVerified = event("UserPhoneNumberVerified", {
  maskedPhoneNumber: MaskedPhoneNumber.annotations({ description: "Four * and the last four digits." }),
  phoneNumberCommitment: Commitment,
  phoneNumberFingerprint: LegacyFingerprint
})
export type UserPhoneNumberVerified = typeof UserPhoneNumberVerified.Type

export const UserPhoneNumberChangeRequested = event("UserPhoneNumberChangeRequested", {
  pendingChangeId: Schema.String.annotations({ description: "The pending change's id (UUID v7)." }),
  maskedPhoneNumber: MaskedPhoneNumber.annotations({ description: "The new number: four * and its last four digits." }),
  delivery: Schema.Literal("send-code", "return-code").annotations({
    description: "send-code: the code went to the organization's code-delivery endpoint; return-code: to the caller."
  }),
  expiresAt: Schema.String.annotations({ description: "ISO-8601; the code's end of validity." })
})
export type UserPhoneNumberChangeRequested = typeof UserPhoneNumberChangeRequested.Type

export const UserPhoneNumberReleased = event("UserPhoneNumberReleased", {
  maskedPhoneNumber: MaskedPhoneNumber.annotations({ description: "The released number: four * and its last four." }),
  reason: Schema.Literal("verified-by-another-user").annotations({
    description: "Another user of the organization proved possession of the number (a recycled number)."
  })
})
export type UserPhoneNumberReleased = typeof UserPhoneNumberReleased.Type

export const UserPersonalDataErased = event("UserPersonalDataErased", {
  erasedFields: Schema.Array(Schema.Literal("phoneNumber"))
})
export type UserPersonalDataErased = typeof UserPersonalDataErased.Type

export const PhoneFingerprints = Schema.Struct({
  phoneNumberFingerprint: Schema.optional(Schema.String),
  phoneNumberSalt: Schema.optional(Schema.String),
  previousPhoneNumberFingerprint: Schema.optional(Schema.String),
  previousPhoneNumberSalt: Schema.optional(Schema.String)
}).annotations({
  identifier: "PhoneFingerprints",
  description:
    "The keyed fingerprints (hmac-sha256:<base64url>) the event's commitments hide, and their salts: equal " +
    "numbers give equal fingerprints under one key. Gone once the user is erased."
})
export type PhoneFingerprints = typeof PhoneFingerprints.Type

export const UserEvent = Schema.Union(
  UserCreated,
  UserPhoneNumberUpdated,
  UserPhoneNumberVerified,
  UserPersonalDataErased,
  UserPhoneNumberChangeRequested,
  UserPhoneNumberReleased
)
export type UserEvent = typeof UserEvent.Type
