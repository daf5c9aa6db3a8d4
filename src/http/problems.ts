/**
 * The one table where errors become HTTP: each error's status, stable `code`, title and fixed detail, read both by
 * the contract (api.ts declares each endpoint's problems from it) and by `toProblem`, which the handlers and the
 * authentication middleware apply once at their boundary. `Problem` is the RFC 9457 body every error answer
 * carries, and what the typed client (src/client.ts) decodes. No text here echoes a submitted value.
 */
import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { clientAbortFiberId, RouteNotFound } from "@effect/platform/HttpServerError"
import { Cause, Effect, Equal, FiberRef } from "effect"
import * as Schema from "effect/Schema"
import { CurrentRequest } from "../app/context.js"
import type * as App from "../app/errors.js"
import type * as Domain from "../domain/errors.js"
import type * as Ports from "../services/errors.js"
import * as Http from "./errors.js"

/** The body of every error answer (`Content-Type: application/problem+json`). */
export class Problem extends Schema.Class<Problem>("Problem")({
  type: Schema.String.annotations({ description: "URN naming the problem type: urn:users-api:problem:<code>." }),
  title: Schema.String,
  status: Schema.Int,
  detail: Schema.String.annotations({ description: "Human-readable; never contains a submitted value." }),
  code: Schema.String.annotations({ description: "Stable machine-readable code, e.g. invalid-phone-number." }),
  requestId: Schema.String,
  success: Schema.Literal(false),
  hint: Schema.optional(Schema.String.annotations({ description: "How to fix the request, when there is a way." }))
}) {
  /**
   * The answer's headers, outside its body: on the server, its own (WWW-Authenticate, Retry-After), set by
   * toProblem; in the typed client (src/client.ts), every header of the answer it was decoded from.
   */
  declare headers?: Readonly<Record<string, string>>

  /** A tag for `Effect.catchTag("Problem", …)` in a client; on the prototype, so never part of the body. */
  get _tag(): "Problem" {
    return "Problem"
  }
}

export type KnownError =
  | Domain.InvalidPhoneNumber
  | Domain.UserNotFound
  | Domain.UserAlreadyExists
  | Domain.UserErased
  | Domain.VerificationRejected
  | Ports.Unauthenticated
  | Ports.Forbidden
  | Ports.IdentityProviderUnavailable
  | Ports.StoreUnavailable
  | Ports.VersionConflict
  | Ports.PhoneNumberInUse
  | App.PreconditionFailed
  | App.OrganizationNotFound
  | App.WebhookNotFound
  | App.DeliveryNotFound
  | App.DeliveryPending
  | App.WebhookDisabled
  | App.WebhookLimitReached
  | App.InvalidWebhookUrl
  | App.WebhooksNotConfigured
  | Http.InvalidRequest
  | Http.UnsupportedMediaType
  | Http.PayloadTooLarge
  | Http.ClientClosedRequest
  | Http.IdempotencyKeyInUse
  | Http.IdempotencyKeyReused

/** Not errors of ours, but answers too: an unknown route, a defect, and a Worker deployed without its settings. */
type Answer =
  | KnownError
  | { readonly _tag: "RouteNotFound" }
  | { readonly _tag: "InternalError" }
  | { readonly _tag: "Misconfigured"; readonly detail: string }

export type ProblemTag = Answer["_tag"]

interface Row<E> {
  readonly status: number
  readonly title: string
  /** Every code this error can carry (the first is the default): the contract lists them. */
  readonly codes: readonly [string, ...Array<string>]
  readonly code?: (error: E) => string
  readonly detail: string | ((error: E) => string)
  readonly hint?: (error: E) => string
  readonly headers?: (error: E) => Record<string, string>
}

const INVALID_REQUEST_CODES = [
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
] as const satisfies ReadonlyArray<Http.InvalidRequest["code"]>

export const PROBLEMS: { readonly [T in ProblemTag]: Row<Extract<Answer, { readonly _tag: T }>> } = {
  InvalidRequest: {
    status: 400,
    title: "Bad request",
    codes: INVALID_REQUEST_CODES,
    code: (e) => e.code,
    detail: (e) => e.detail
  },
  InvalidWebhookUrl: {
    status: 400,
    title: "Bad request",
    codes: ["invalid-webhook-url"],
    detail: (e) => e.detail
  },
  Unauthenticated: {
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
  },
  Forbidden: {
    status: 403,
    title: "Forbidden",
    codes: ["missing-scope", "not-own-user", "organization-mismatch", "not-own-organization"],
    code: (e) => e.reason,
    detail: (e) => e.detail
  },
  UserNotFound: {
    status: 404,
    title: "User not found",
    codes: ["user-not-found"],
    detail: "No user with this id exists in your organization."
  },
  OrganizationNotFound: {
    status: 404,
    title: "Organization not found",
    codes: ["organization-not-found"],
    detail: "No such organization is visible to you."
  },
  WebhookNotFound: {
    status: 404,
    title: "Webhook not found",
    codes: ["webhook-not-found"],
    detail: "No webhook subscription with this id exists in your organization."
  },
  DeliveryNotFound: {
    status: 404,
    title: "Delivery not found",
    codes: ["delivery-not-found"],
    detail: "The webhook subscription has no delivery of this event."
  },
  RouteNotFound: { status: 404, title: "Not found", codes: ["route-not-found"], detail: "No such route." },
  UserAlreadyExists: {
    status: 409,
    title: "User already exists",
    codes: ["user-already-exists"],
    detail: "A user with this id exists already; nothing was changed."
  },
  VersionConflict: {
    status: 409,
    title: "Concurrent update",
    codes: ["concurrent-update"],
    detail: "The user kept changing while this update was retried; read it again and retry."
  },
  PhoneNumberInUse: {
    status: 409,
    title: "Phone number in use",
    codes: ["phone-number-in-use"],
    detail: "Another user of your organization has this phone number; nothing was changed."
  },
  VerificationRejected: {
    status: 409,
    title: "Cannot verify",
    codes: ["no-phone-number", "phone-number-mismatch"],
    code: (e) => e.reason,
    detail: (e) =>
      e.reason === "no-phone-number"
        ? "The user has no phone number to verify."
        : "The number named is not the user's current number; it may have changed since it was checked."
  },
  IdempotencyKeyInUse: {
    status: 409,
    title: "Idempotency key in use",
    codes: ["idempotency-key-in-use"],
    detail: "A request with this Idempotency-Key is still being processed; retry shortly to get its answer.",
    headers: () => ({ "retry-after": "1" })
  },
  WebhookLimitReached: {
    status: 409,
    title: "Webhook limit reached",
    codes: ["webhook-limit-reached"],
    detail: (e) => `Your organization has ${e.limit} webhook subscriptions, the most it may have; delete one first.`
  },
  DeliveryPending: {
    status: 409,
    title: "Delivery pending",
    codes: ["delivery-pending"],
    detail: "The delivery is still pending: it is sent on its schedule, and can be re-sent once delivered or failed."
  },
  WebhookDisabled: {
    status: 409,
    title: "Webhook disabled",
    codes: ["webhook-disabled"],
    detail: "The webhook subscription is disabled (its receiver answered 410 Gone); nothing is sent to it."
  },
  UserErased: {
    status: 410,
    title: "User erased",
    codes: ["user-erased"],
    detail: "The user's personal data was erased; it takes no new personal data."
  },
  PreconditionFailed: {
    status: 412,
    title: "Precondition failed",
    codes: ["version-mismatch"],
    detail: (e) => `If-Match named version ${e.expected} but the user is at version ${e.current}; nothing was written.`
  },
  PayloadTooLarge: {
    status: 413,
    title: "Payload too large",
    codes: ["payload-too-large"],
    detail: (e) => `The body exceeds ${e.limitBytes} bytes.`
  },
  UnsupportedMediaType: {
    status: 415,
    title: "Unsupported media type",
    codes: ["unsupported-media-type"],
    detail: "Send the body as application/json."
  },
  InvalidPhoneNumber: {
    status: 422,
    title: "Invalid phone number",
    codes: ["invalid-phone-number"],
    detail: "The phone number is not accepted.",
    hint: (e) => e.hint
  },
  IdempotencyKeyReused: {
    status: 422,
    title: "Idempotency key reused",
    codes: ["idempotency-key-reused"],
    detail: "This Idempotency-Key was used for a different request; use a new key for a new request."
  },
  // nginx's code for it: no answer reaches the client, but the log says what happened.
  ClientClosedRequest: {
    status: 499,
    title: "Client closed request",
    codes: ["client-closed-request"],
    detail: "The client closed the connection before the request was answered."
  },
  InternalError: {
    status: 500,
    title: "Internal error",
    codes: ["internal-error"],
    detail: "The request failed unexpectedly; nothing is known to have been written."
  },
  Misconfigured: {
    status: 500,
    title: "Service misconfigured",
    codes: ["misconfigured"],
    detail: (e) => e.detail
  },
  StoreUnavailable: {
    status: 503,
    title: "Service unavailable",
    codes: ["store-unavailable"],
    // A store can fail after it committed (test/support/faults.ts, "after"): the outcome is not promised either way.
    detail: "The store did not answer; the request may or may not have been applied. Retry shortly.",
    headers: () => ({ "retry-after": "1" })
  },
  WebhooksNotConfigured: {
    status: 503,
    title: "Webhooks not configured",
    codes: ["webhooks-not-configured"],
    // No Retry-After: it lasts until the operator sets the key.
    detail: "This deployment has no WEBHOOK_SECRET_KEY, so it cannot sign webhooks; its operator must set one."
  },
  IdentityProviderUnavailable: {
    status: 503,
    title: "Identity provider unavailable",
    codes: ["identity-provider-unavailable"],
    // Not a 401: the token was not found wanting, so a client must not drop it (or log its user out).
    detail: "The identity provider's keys could not be fetched, so the token cannot be checked now. " +
      "Retry after the time Retry-After gives; the token may well be valid.",
    headers: (e) => ({ "retry-after": String(Math.max(1, Math.ceil(e.retryAfterSeconds))) })
  }
}

/** An error as its problem, by its row in the table. */
export const toProblem = <E extends Answer>(error: E, requestId: string): Problem => {
  const row = PROBLEMS[error._tag as ProblemTag] as Row<E>
  const code = row.code?.(error) ?? row.codes[0]
  const hint = row.hint?.(error)
  const problem = new Problem({
    type: `urn:users-api:problem:${code}`,
    title: row.title,
    status: row.status,
    detail: typeof row.detail === "string" ? row.detail : row.detail(error),
    code,
    requestId,
    success: false,
    ...(hint === undefined ? {} : { hint })
  }, { disableValidation: true })
  const headers = row.headers?.(error)
  // An own field (copied along with the problem where the framework copies it), never part of the body.
  if (headers !== undefined) problem.headers = headers
  return problem
}

/** Fails with the error's problem, carrying the current answer's request id. */
export const failAsProblem = (error: KnownError): Effect.Effect<never, Problem> =>
  Effect.flatMap(FiberRef.get(CurrentRequest), (ids) => Effect.fail(toProblem(error, ids.requestId)))

const KNOWN_TAGS = new Set<string>(Object.keys(PROBLEMS))

export const isKnownError = (error: unknown): error is KnownError =>
  typeof error === "object" && error !== null && "_tag" in error && KNOWN_TAGS.has(String(error._tag))

/**
 * Interrupted because the client went away: @effect/platform's web handler interrupts a request's fiber with this
 * id when the request's signal aborts (Bun does so when the connection closes); body.ts does the same.
 */
const isClientAbort = (cause: Cause.Cause<unknown>): boolean =>
  Cause.isInterruptedOnly(cause) && [...Cause.interruptors(cause)].some((id) => Equal.equals(id, clientAbortFiberId))

const ID_RULE = "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -."

/** What a failure that reached the edge is: a problem already, a framework error, a client gone, or a defect. */
export const problemOfCause = (cause: Cause.Cause<unknown>, requestId: string): Problem => {
  if (isClientAbort(cause)) return toProblem(new Http.ClientClosedRequest(), requestId)
  const error = Cause.squash(cause)
  if (error instanceof Problem) return error
  if (isKnownError(error)) return toProblem(error, requestId)
  if (error instanceof HttpApiDecodeError) {
    // The framework decodes the path and query; name the parameter, never its value.
    const parameter = String(error.issues[0]?.path[0] ?? "request")
    const invalid = parameter === "id"
      ? new Http.InvalidRequest({ code: "invalid-user-id", detail: `The user id ${ID_RULE}` })
      : parameter === "organizationId"
      ? new Http.InvalidRequest({ code: "invalid-organization-id", detail: `The organization id ${ID_RULE}` })
      : parameter === "webhookId"
      ? new Http.InvalidRequest({ code: "invalid-webhook-id", detail: `The webhook id ${ID_RULE}` })
      : parameter === "eventId"
      ? new Http.InvalidRequest({ code: "invalid-event-id", detail: `The event id ${ID_RULE}` })
      : new Http.InvalidRequest({ code: "invalid-query", detail: `The query parameter ${parameter} is not valid.` })
    return toProblem(invalid, requestId)
  }
  if (error instanceof RouteNotFound) return toProblem({ _tag: "RouteNotFound" }, requestId)
  return toProblem({ _tag: "InternalError" }, requestId)
}

export const problemResponse = (problem: Problem): HttpServerResponse.HttpServerResponse => {
  const { code, detail, hint, requestId, status, success, title, type } = problem
  return HttpServerResponse.text(JSON.stringify({ type, title, status, detail, code, requestId, success, hint }), {
    status,
    contentType: "application/problem+json",
    headers: problem.headers
  })
}

const atStatus = new Map<number, Schema.Schema<Problem, any>>()

/**
 * The problems an endpoint (or middleware) can answer, for the contract: one Problem schema per status, described
 * by the codes the table lists for those errors. `HttpApiEndpoint.addError` takes them.
 */
export const problemsFor = (tags: ReadonlyArray<ProblemTag>): ReadonlyArray<Schema.Schema<Problem, any>> => {
  const byStatus = new Map<number, Array<string>>()
  for (const tag of tags) {
    const row = PROBLEMS[tag]
    byStatus.set(row.status, [...(byStatus.get(row.status) ?? []), ...row.codes])
  }
  return [...byStatus].map(([status, codes]) => {
    const base = atStatus.get(status) ?? Problem.pipe(
      HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/problem+json" })
    ).annotations(HttpApiSchema.annotations({ status }))
    atStatus.set(status, base)
    return base.annotations({ description: `code: ${[...new Set(codes)].join(", ")}` })
  })
}
