/**
 * What the ports can fail with: the credential check (Auth), the stores (UserRepo, EventLog, Idempotency).
 * Meaning only; src/http/problems.ts turns each into its answer. None carries a phone number.
 */
import { Data } from "effect"

/** No usable credentials: a missing, malformed, expired or untrusted token, or an unknown/revoked API key. */
export class Unauthenticated extends Data.TaggedError("Unauthenticated")<{
  readonly reason: "missing-api-key" | "invalid-api-key" | "missing-token" | "invalid-token"
  readonly detail: string
}> {}

/** Authenticated, but not allowed to do this (the credentials name another organization, or a rule says no). */
export class Forbidden extends Data.TaggedError("Forbidden")<{
  readonly reason: "organization-mismatch" | "not-own-user" | "missing-scope" | "not-own-organization"
  readonly detail: string
}> {}

/**
 * The identity provider's key set could not be fetched (and no usable copy is kept), so no token can be checked now.
 * Not the caller's fault: its token may be fine. `retryAfterSeconds`: until the next fetch may be tried.
 */
export class IdentityProviderUnavailable extends Data.TaggedError("IdentityProviderUnavailable")<{
  readonly retryAfterSeconds: number
}> {}

/**
 * The store did not answer or failed. Usually nothing was written, but a failure after the commit cannot be told
 * apart from one before it (docs/DECISIONS.md, "Idempotency and faults").
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{ readonly cause: unknown }> {}

/** Another writer stored a new version between our read and our write (the atomic write's guard fired). */
export class VersionConflict extends Data.TaggedError("VersionConflict")<{ readonly userId: string }> {}

/** Another user of the organization holds this number. Which one is never said. */
export class PhoneNumberInUse extends Data.TaggedError("PhoneNumberInUse")<{}> {}

/**
 * A request with this Idempotency-Key is running: the key is claimed by another attempt, or was taken over by one
 * while this attempt ran (its lock expired), in which case this attempt's change is refused.
 */
export class IdempotencyKeyInUse extends Data.TaggedError("IdempotencyKeyInUse")<{}> {}
