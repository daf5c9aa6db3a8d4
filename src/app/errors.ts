/**
 * Application errors: why a request could not be served, in words, not status codes.
 * src/http/problems.ts is the one place that maps them (and domain errors) to HTTP.
 * None of them carries a phone number: details are chosen from fixed texts.
 */
import { Data } from "effect"

/** No usable credentials: a missing, malformed, expired or untrusted token, or an unknown/revoked API key. */
export class Unauthenticated extends Data.TaggedError("Unauthenticated")<{
  readonly reason: "missing-api-key" | "invalid-api-key" | "missing-token" | "invalid-token"
  readonly detail: string
}> {}

/** Authenticated, but not allowed to do this. */
export class Forbidden extends Data.TaggedError("Forbidden")<{
  readonly reason: "organization-mismatch" | "not-own-user" | "missing-scope" | "not-own-organization"
  readonly detail: string
}> {}

/** Another user of the organization holds this number. Which one is never said. */
export class PhoneNumberInUse extends Data.TaggedError("PhoneNumberInUse")<{}> {}

/** The user's personal data was erased; it takes no more personal data. */
export class UserErased extends Data.TaggedError("UserErased")<{ readonly userId: string }> {}

/** MarkPhoneNumberVerified on a user without a number, or naming another number than the stored one. */
export class VerificationRejected extends Data.TaggedError("VerificationRejected")<{
  readonly reason: "no-phone-number" | "phone-number-mismatch"
}> {}

/** The user does not exist in the caller's organization (users of other organizations look the same). */
export class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly userId: string }> {}

/** The organization is not the caller's (other organizations look the same as unknown ones). */
export class OrganizationNotFound extends Data.TaggedError("OrganizationNotFound")<{}> {}

/** The request is not well-formed: body, path parameter, query or header. */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly code:
    | "malformed-json"
    | "invalid-body"
    | "invalid-user-id"
    | "invalid-organization-id"
    | "invalid-query"
    | "invalid-if-match"
    | "invalid-idempotency-key"
  readonly detail: string
}> {}

/**
 * The client went away before the request was answered: it closed the connection mid-upload (the body never
 * arrived in full), or while the request ran. Not a failure of the service; whatever the client gets is moot.
 */
export class ClientClosedRequest extends Data.TaggedError("ClientClosedRequest")<{}> {}

export class UnsupportedMediaType extends Data.TaggedError("UnsupportedMediaType")<{ readonly contentType: string }> {}

export class PayloadTooLarge extends Data.TaggedError("PayloadTooLarge")<{ readonly limitBytes: number }> {}

/** `If-Match` named a version other than the current one; nothing was written. */
export class PreconditionFailed extends Data.TaggedError("PreconditionFailed")<{
  readonly expected: string
  readonly current: number
}> {}

/** Another writer stored a new version between our read and our write (the atomic write's guard fired). */
export class VersionConflict extends Data.TaggedError("VersionConflict")<{ readonly userId: string }> {}

/**
 * The store did not answer or failed. Usually nothing was written, but a failure after the commit cannot be told
 * apart from one before it (docs/DECISIONS.md, "Idempotency and faults").
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{ readonly cause: unknown }> {}

/**
 * The identity provider's key set could not be fetched (and no usable copy is kept), so no token can be checked now.
 * Not the caller's fault: its token may be fine. `retryAfterSeconds`: until the next fetch may be tried.
 */
export class IdentityProviderUnavailable extends Data.TaggedError("IdentityProviderUnavailable")<{
  readonly retryAfterSeconds: number
}> {}

/** A request with this Idempotency-Key is still running; retry once it has finished. */
export class IdempotencyKeyInUse extends Data.TaggedError("IdempotencyKeyInUse")<{}> {}

/** This Idempotency-Key was used before for a different request (method, path, body, caller or If-Match). */
export class IdempotencyKeyReused extends Data.TaggedError("IdempotencyKeyReused")<{}> {}
