/**
 * What the ports can fail with: the credential check (Auth), the stores (UserRepo, EventLog, Idempotency).
 * Each class declares its HTTP answer on its schema (src/domain/problem.ts). None carries a phone number.
 */
import * as Schema from "effect/Schema"
import { problem } from "../domain/problem.js"

const UnauthenticatedReason = Schema.Literal("missing-api-key", "invalid-api-key", "missing-token", "invalid-token")

/** No usable credentials: a missing, malformed, expired or untrusted token, or an unknown/revoked API key. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()(
  "Unauthenticated",
  {
    reason: UnauthenticatedReason,
    detail: Schema.String
  },
  problem<{ readonly reason: typeof UnauthenticatedReason.Type; readonly detail: string }>({
    status: 401,
    title: "Unauthenticated",
    codes: ["invalid-token", "missing-token", "missing-api-key", "invalid-api-key"],
    code: (e) => e.reason,
    detail: (e) => e.detail,
    headers: (e) => ({
      "www-authenticate": e.reason === "invalid-token"
        ? `Bearer realm="users-api", error="invalid_token"`
        : `Bearer realm="users-api"`
    })
  })
) {}

const ForbiddenReason = Schema.Literal("organization-mismatch", "not-own-user", "missing-scope", "not-own-organization")

/** Authenticated, but not allowed to do this (the credentials name another organization, or a rule says no). */
export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  {
    reason: ForbiddenReason,
    detail: Schema.String
  },
  problem<{ readonly reason: typeof ForbiddenReason.Type; readonly detail: string }>({
    status: 403,
    title: "Forbidden",
    codes: ["missing-scope", "not-own-user", "organization-mismatch", "not-own-organization"],
    code: (e) => e.reason,
    detail: (e) => e.detail
  })
) {}

/**
 * The identity provider's key set could not be fetched (and no usable copy is kept), so no token can be checked now.
 * Not the caller's fault, so not a 401: a client must not drop its token. `retryAfterSeconds`: until the next fetch.
 */
export class IdentityProviderUnavailable extends Schema.TaggedError<IdentityProviderUnavailable>()(
  "IdentityProviderUnavailable",
  {
    retryAfterSeconds: Schema.Number
  },
  problem<{ readonly retryAfterSeconds: number }>({
    status: 503,
    title: "Identity provider unavailable",
    codes: ["identity-provider-unavailable"],
    detail: "The identity provider's keys could not be fetched, so the token cannot be checked now. " +
      "Retry after the time Retry-After gives; the token may well be valid.",
    headers: (e) => ({ "retry-after": String(Math.max(1, Math.ceil(e.retryAfterSeconds))) })
  })
) {}

/**
 * The store did not answer or failed. A failure after the commit cannot be told apart from one before it
 * (docs/DECISIONS.md, "Idempotency and faults"), so the answer promises neither outcome.
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  {
    cause: Schema.Unknown
  },
  problem({
    status: 503,
    title: "Service unavailable",
    codes: ["store-unavailable"],
    detail: "The store did not answer; the request may or may not have been applied. Retry shortly.",
    headers: () => ({ "retry-after": "1" })
  })
) {}

/** Another writer stored a new version between our read and our write (the atomic write's guard fired). */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()(
  "VersionConflict",
  {
    userId: Schema.String
  },
  problem({
    status: 409,
    title: "Concurrent update",
    codes: ["concurrent-update"],
    detail: "The user kept changing while this update was retried; read it again and retry."
  })
) {}

/** Another user of the organization holds this number. Which one is never said. */
export class PhoneNumberInUse extends Schema.TaggedError<PhoneNumberInUse>()(
  "PhoneNumberInUse",
  {},
  problem({
    status: 409,
    title: "Phone number in use",
    codes: ["phone-number-in-use"],
    detail: "Another user of your organization has this phone number; nothing was changed."
  })
) {}

/**
 * A request with this Idempotency-Key is running: the key is claimed by another attempt, or was taken over by one
 * while this attempt ran (its lock expired), in which case this attempt's change is refused.
 */
export class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>()(
  "IdempotencyKeyInUse",
  {},
  problem({
    status: 409,
    title: "Idempotency key in use",
    codes: ["idempotency-key-in-use"],
    detail: "A request with this Idempotency-Key is still being processed; retry shortly to get its answer.",
    headers: () => ({ "retry-after": "1" })
  })
) {}

/**
 * The code could not be handed to the organization's code-delivery endpoint (none configured, or it failed). The
 * change stays pending with a code nobody received: a new request sends a new one.
 */
export class CodeDeliveryUnavailable extends Schema.TaggedError<CodeDeliveryUnavailable>()(
  "CodeDeliveryUnavailable",
  { reason: Schema.Literal("not-configured", "failed") },
  problem<{ readonly reason: "not-configured" | "failed" }>({
    status: 503,
    title: "Code delivery unavailable",
    codes: ["code-delivery-unavailable"],
    detail: (e) =>
      e.reason === "not-configured"
        ? "The organization has no code-delivery endpoint (PUT /organizations/{id}/code-delivery); nothing was sent."
        : "The organization's code-delivery endpoint did not accept the code; the change stays pending. " +
          "Request the change again to send a new code.",
    headers: (e): Record<string, string> => e.reason === "failed" ? { "retry-after": "5" } : {}
  })
) {}
