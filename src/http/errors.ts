// What only HTTP gets wrong, and answers that are no error of ours.
import * as Schema from "effect/Schema"
import { problem } from "../domain/problem.js"

export const INVALID_REQUEST_CODES = [
  "invalid-body",
  "malformed-json",
  "invalid-user-id",
  "invalid-organization-id",
  "invalid-query",
  "invalid-if-match",
  "invalid-idempotency-key",
  "invalid-webhook-id",
  "invalid-event-id",
  "invalid-cursor",
  "outdated-cursor"
] as const

const InvalidRequestCode = Schema.Literal(...INVALID_REQUEST_CODES)

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()(
  "InvalidRequest",
  {
    code: InvalidRequestCode,
    detail: Schema.String,
    hint: Schema.optional(Schema.String)
  },
  problem<
    { readonly code: typeof InvalidRequestCode.Type; readonly detail: string; readonly hint?: string | undefined }
  >({
    status: 400,
    title: "Bad request",
    codes: INVALID_REQUEST_CODES,
    code: (e) => e.code,
    detail: (e) => e.detail,
    hint: (e) => e.hint
  })
) {}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  {
    contentType: Schema.String
  },
  problem({
    status: 415,
    title: "Unsupported media type",
    codes: ["unsupported-media-type"],
    detail: "Send the body as application/json."
  })
) {}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  {
    limitBytes: Schema.Number
  },
  problem<{ readonly limitBytes: number }>({
    status: 413,
    title: "Payload too large",
    codes: ["payload-too-large"],
    detail: (e) => `The body exceeds ${e.limitBytes} bytes.`
  })
) {}

/** nginx's 499: no answer reaches the client, but the log says what happened. */
export class ClientClosedRequest extends Schema.TaggedError<ClientClosedRequest>()(
  "ClientClosedRequest",
  {},
  problem({
    status: 499,
    title: "Client closed request",
    codes: ["client-closed-request"],
    detail: "The client closed the connection before the request was answered."
  })
) {}

export { IdempotencyKeyInUse } from "../services/errors.js"

export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()(
  "IdempotencyKeyReused",
  {},
  problem({
    status: 422,
    title: "Idempotency key reused",
    codes: ["idempotency-key-reused"],
    detail: "This Idempotency-Key was used for a different request; use a new key for a new request."
  })
) {}

export class UnknownRoute extends Schema.TaggedError<UnknownRoute>()(
  "RouteNotFound",
  {
    /** For a near miss of a route (src/http/routes.ts `nearRoute`): the route's template, never the path sent. */
    hint: Schema.optional(Schema.String)
  },
  problem<{ readonly hint?: string | undefined }>({
    status: 404,
    title: "Not found",
    codes: ["route-not-found"],
    detail: "No such route.",
    hint: (e) => e.hint
  })
) {}

export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  {},
  problem({
    status: 500,
    title: "Internal error",
    codes: ["internal-error"],
    detail: "The request failed unexpectedly; nothing is known to have been written."
  })
) {}

export class Misconfigured extends Schema.TaggedError<Misconfigured>()(
  "Misconfigured",
  {
    detail: Schema.String
  },
  problem<{ readonly detail: string }>({
    status: 500,
    title: "Service misconfigured",
    codes: ["misconfigured"],
    detail: (e) => e.detail
  })
) {}
