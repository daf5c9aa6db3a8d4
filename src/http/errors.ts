/**
 * What only HTTP can get wrong: a malformed request, a body of the wrong type or size, a client that went away, and
 * an Idempotency-Key in use or reused. src/http/problems.ts turns each into its answer.
 */
import { Data } from "effect"

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
    | "invalid-webhook-id"
    | "invalid-event-id"
    | "invalid-cursor"
    | "outdated-cursor"
  readonly detail: string
}> {}

export class UnsupportedMediaType extends Data.TaggedError("UnsupportedMediaType")<{ readonly contentType: string }> {}

export class PayloadTooLarge extends Data.TaggedError("PayloadTooLarge")<{ readonly limitBytes: number }> {}

/**
 * The client went away before the request was answered: it closed the connection mid-upload (the body never
 * arrived in full), or while the request ran. Not a failure of the service; whatever the client gets is moot.
 */
export class ClientClosedRequest extends Data.TaggedError("ClientClosedRequest")<{}> {}

/** A request with this Idempotency-Key is still running; retry once it has finished. */
export { IdempotencyKeyInUse } from "../services/errors.js"

/** This Idempotency-Key was used before for a different request (method, path, body, caller or If-Match). */
export class IdempotencyKeyReused extends Data.TaggedError("IdempotencyKeyReused")<{}> {}
