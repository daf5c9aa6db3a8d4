/**
 * The one place where errors become HTTP: RFC 9457 problem details with a stable `code`.
 * Every text here is fixed or built from non-PII fields; nothing echoes a submitted phone number.
 */
import { HttpApiSchema } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { clientAbortFiberId, RouteNotFound } from "@effect/platform/HttpServerError"
import { Cause, Equal, Schema } from "effect"
import * as AppErrors from "../app/errors.js"
import type * as DomainErrors from "../domain/errors.js"

export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly code: string
  readonly requestId: string
  readonly success: false
  readonly hint?: string
}

type KnownError =
  | AppErrors.Unauthenticated
  | AppErrors.Forbidden
  | AppErrors.UserNotFound
  | AppErrors.InvalidRequest
  | AppErrors.UnsupportedMediaType
  | AppErrors.PayloadTooLarge
  | AppErrors.PreconditionFailed
  | AppErrors.VersionConflict
  | AppErrors.StoreUnavailable
  | AppErrors.IdentityProviderUnavailable
  | AppErrors.PhoneNumberInUse
  | AppErrors.OrganizationNotFound
  | AppErrors.UserErased
  | AppErrors.VerificationRejected
  | AppErrors.IdempotencyKeyInUse
  | AppErrors.IdempotencyKeyReused
  | AppErrors.ClientClosedRequest
  | DomainErrors.InvalidPhoneNumber
  | DomainErrors.UserAlreadyExists

/** Status and title of each error, by tag: the contract (api.ts) documents errors with these too. */
export const STATUS = {
  InvalidRequest: [400, "Bad request"],
  Unauthenticated: [401, "Unauthenticated"],
  Forbidden: [403, "Forbidden"],
  UserNotFound: [404, "User not found"],
  OrganizationNotFound: [404, "Organization not found"],
  UserAlreadyExists: [409, "User already exists"],
  VersionConflict: [409, "Concurrent update"],
  PhoneNumberInUse: [409, "Phone number in use"],
  VerificationRejected: [409, "Cannot verify"],
  IdempotencyKeyInUse: [409, "Idempotency key in use"],
  UserErased: [410, "User erased"],
  PreconditionFailed: [412, "Precondition failed"],
  PayloadTooLarge: [413, "Payload too large"],
  UnsupportedMediaType: [415, "Unsupported media type"],
  InvalidPhoneNumber: [422, "Invalid phone number"],
  IdempotencyKeyReused: [422, "Idempotency key reused"],
  // nginx's code for it: no answer reaches the client, but the log says what happened.
  ClientClosedRequest: [499, "Client closed request"],
  StoreUnavailable: [503, "Service unavailable"],
  IdentityProviderUnavailable: [503, "Identity provider unavailable"]
} as const satisfies Record<KnownError["_tag"], readonly [number, string]>

interface Described {
  readonly status: number
  readonly title: string
  readonly code: string
  readonly detail: string
  readonly hint?: string
  readonly headers?: Record<string, string>
}

const describe = (error: KnownError): Described => {
  const [status, title] = STATUS[error._tag]
  switch (error._tag) {
    case "InvalidRequest":
      return { status, title, code: error.code, detail: error.detail }
    case "Unauthenticated":
      return {
        status,
        title,
        code: error.reason,
        detail: error.detail,
        headers: {
          "www-authenticate": error.reason === "invalid-token"
            ? `Bearer realm="users-api", error="invalid_token"`
            : `Bearer realm="users-api"`
        }
      }
    case "Forbidden":
      return { status, title, code: error.reason, detail: error.detail }
    case "UserNotFound":
      return { status, title, code: "user-not-found", detail: "No user with this id exists in your organization." }
    case "OrganizationNotFound":
      return { status, title, code: "organization-not-found", detail: "No such organization is visible to you." }
    case "UserAlreadyExists":
      return {
        status,
        title,
        code: "user-already-exists",
        detail: "A user with this id exists already; nothing was changed."
      }
    case "VersionConflict":
      return {
        status,
        title,
        code: "concurrent-update",
        detail: "The user kept changing while this update was retried; read it again and retry."
      }
    case "PhoneNumberInUse":
      return {
        status,
        title,
        code: "phone-number-in-use",
        detail: "Another user of your organization has this phone number; nothing was changed."
      }
    case "VerificationRejected":
      return {
        status,
        title,
        code: error.reason,
        detail: error.reason === "no-phone-number"
          ? "The user has no phone number to verify."
          : "The number named is not the user's current number; it may have changed since it was checked."
      }
    case "UserErased":
      return {
        status,
        title,
        code: "user-erased",
        detail: "The user's personal data was erased; it takes no new personal data."
      }
    case "PreconditionFailed":
      return {
        status,
        title,
        code: "version-mismatch",
        detail:
          `If-Match named version ${error.expected} but the user is at version ${error.current}; nothing was written.`
      }
    case "PayloadTooLarge":
      return { status, title, code: "payload-too-large", detail: `The body exceeds ${error.limitBytes} bytes.` }
    case "UnsupportedMediaType":
      return { status, title, code: "unsupported-media-type", detail: "Send the body as application/json." }
    case "InvalidPhoneNumber":
      return {
        status,
        title,
        code: "invalid-phone-number",
        detail: "The phone number is not accepted.",
        hint: error.hint
      }
    case "IdempotencyKeyInUse":
      return {
        status,
        title,
        code: "idempotency-key-in-use",
        detail: "A request with this Idempotency-Key is still being processed; retry shortly to get its answer.",
        headers: { "retry-after": "1" }
      }
    case "IdempotencyKeyReused":
      return {
        status,
        title,
        code: "idempotency-key-reused",
        detail: "This Idempotency-Key was used for a different request; use a new key for a new request."
      }
    case "ClientClosedRequest":
      return {
        status,
        title,
        code: "client-closed-request",
        detail: "The client closed the connection before the request was answered."
      }
    case "StoreUnavailable":
      return {
        status,
        title,
        code: "store-unavailable",
        // A store can fail after it committed (src/layers/faults.ts, "after"): the outcome is not promised either way.
        detail: "The store did not answer; the request may or may not have been applied. Retry shortly.",
        headers: { "retry-after": "1" }
      }
    case "IdentityProviderUnavailable":
      return {
        status,
        title,
        code: "identity-provider-unavailable",
        // Not a 401: the token was not found wanting, so a client must not drop it (or log its user out).
        detail: "The identity provider's keys could not be fetched, so the token cannot be checked now. " +
          "Retry after the time Retry-After gives; the token may well be valid.",
        headers: { "retry-after": String(Math.max(1, Math.ceil(error.retryAfterSeconds))) }
      }
  }
}

const KNOWN_TAGS = new Set(Object.keys(STATUS))

const isKnown = (error: unknown): error is KnownError =>
  typeof error === "object" && error !== null && "_tag" in error && KNOWN_TAGS.has(String(error._tag))

/**
 * Interrupted because the client went away: @effect/platform's web handler interrupts a request's fiber with this
 * id when the request's signal aborts (Bun does so when the connection closes).
 */
const isClientAbort = (cause: Cause.Cause<unknown>): boolean =>
  Cause.isInterruptedOnly(cause) && [...Cause.interruptors(cause)].some((id) => Equal.equals(id, clientAbortFiberId))

/** Any failure or defect as a problem; framework errors (bad path or query, unknown route) included. */
export const describeCause = (cause: Cause.Cause<unknown>): Described & { readonly internal: boolean } => {
  if (isClientAbort(cause)) return { ...describe(new AppErrors.ClientClosedRequest()), internal: false }
  const error = Cause.squash(cause)
  if (isKnown(error)) return { ...describe(error), internal: false }
  if (error instanceof HttpApiDecodeError) {
    // The framework decodes the path and query; name the parameter, never its value.
    const parameter = String(error.issues[0]?.path[0] ?? "request")
    const ID_RULE = "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -."
    const [code, detail] = parameter === "id"
      ? ["invalid-user-id", `The user id ${ID_RULE}`] as const
      : parameter === "organizationId"
      ? ["invalid-organization-id", `The organization id ${ID_RULE}`] as const
      : ["invalid-query", `The query parameter ${parameter} is not valid.`] as const
    return { ...describe(new AppErrors.InvalidRequest({ code, detail })), internal: false }
  }
  if (error instanceof RouteNotFound) {
    return { status: 404, title: "Not found", code: "route-not-found", detail: "No such route.", internal: false }
  }
  return {
    status: 500,
    title: "Internal error",
    code: "internal-error",
    detail: "The request failed unexpectedly; nothing is known to have been written.",
    internal: true
  }
}

export const problemResponse = (described: Described, requestId: string): HttpServerResponse.HttpServerResponse => {
  const body: Problem = {
    type: `urn:users-api:problem:${described.code}`,
    title: described.title,
    status: described.status,
    detail: described.detail,
    code: described.code,
    requestId,
    success: false,
    ...(described.hint === undefined ? {} : { hint: described.hint })
  }
  return HttpServerResponse.unsafeJson(body, {
    status: described.status,
    contentType: "application/problem+json",
    headers: described.headers
  })
}

// Documentation of errors for the OpenAPI document: the response body is always a Problem.

export const ProblemJsonSchema = {
  type: "object",
  required: ["type", "title", "status", "detail", "code", "requestId", "success"],
  properties: {
    type: { type: "string", description: "URN naming the problem type." },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string", description: "Human-readable; never contains the submitted phone number." },
    code: { type: "string", description: "Stable machine-readable code, e.g. invalid-phone-number." },
    requestId: { type: "string" },
    success: { type: "boolean", enum: [false] },
    hint: { type: "string", description: "How to fix the request, when there is a known way." }
  }
}

/** The schema an endpoint declares for an error class: matches its instances, documented as a Problem. */
export const problemSchema = <E extends KnownError>(
  errorClass: abstract new(...args: any) => E,
  tag: E["_tag"]
): Schema.Schema<E> =>
  Schema.declare((input: unknown): input is E => input instanceof errorClass, {
    identifier: `${tag}Problem`,
    description: STATUS[tag][1],
    jsonSchema: ProblemJsonSchema
  }).pipe(
    HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/problem+json" }),
    (schema) => schema.annotations(HttpApiSchema.annotations({ status: STATUS[tag][0] }))
  )
