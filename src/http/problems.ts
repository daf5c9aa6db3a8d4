// Where errors become HTTP: each error class declares its problem (src/domain/problem.ts); this gathers them for the
// contract and renders them. `Problem` is the RFC 9457 body the client decodes.
import { type HttpApiEndpoint, HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { clientAbortFiberId, RouteNotFound } from "@effect/platform/HttpServerError"
import { Cause, Effect, Equal, FiberRef } from "effect"
import * as Schema from "effect/Schema"
import { CurrentRequest } from "../app/context.js"
import * as App from "../app/errors.js"
import * as Domain from "../domain/errors.js"
import { PhoneNumberNotAllowed } from "../domain/phone-policy-schema.js"
import { type ProblemSpec, problemSpecOf, problemSpecOfError } from "../domain/problem.js"
import { VerificationRateLimited } from "../services/code-limits.js"
import * as Ports from "../services/errors.js"
import type { DecodeDetail } from "./decode-detail.js"
import * as Http from "./errors.js"
import { MethodNotAllowed } from "./routing.js"

export class Problem extends Schema.Class<Problem>("Problem")({
  type: Schema.String.annotations({ description: "URN naming the problem type: urn:users-api:problem:<code>." }),
  title: Schema.String,
  status: Schema.Int.annotations({ description: "The HTTP status of the answer." }),
  detail: Schema.String.annotations({ description: "Human-readable; never contains a submitted value." }),
  code: Schema.String.annotations({ description: "Stable machine-readable code, e.g. invalid-phone-number." }),
  requestId: Schema.String,
  success: Schema.Literal(false),
  hint: Schema.optional(Schema.String.annotations({ description: "How to fix the request, when there is a way." })),
  attemptsLeft: Schema.optional(
    Schema.Int.annotations({ description: "invalid-verification-code only: the attempts the code has left." })
  )
}) {
  /** Not in the body: set by toProblem on the server; every answer header in the client. */
  declare headers?: Readonly<Record<string, string>>

  /** For `Effect.catchTag("Problem", …)`; on the prototype, so never in the body. */
  get _tag(): "Problem" {
    return "Problem"
  }
}

export const ERRORS = [
  Domain.InvalidPhoneNumber,
  Domain.UserNotFound,
  Domain.UserAlreadyExists,
  Domain.UserErased,
  Domain.VerificationRejected,
  Domain.NoPendingChange,
  Domain.VerificationExpired,
  Domain.InvalidVerificationCode,
  PhoneNumberNotAllowed,
  Ports.Unauthenticated,
  Ports.Forbidden,
  Ports.IdentityProviderUnavailable,
  Ports.StoreUnavailable,
  Ports.VersionConflict,
  Ports.PhoneNumberInUse,
  Ports.IdempotencyKeyInUse,
  Ports.CodeDeliveryUnavailable,
  VerificationRateLimited,
  App.PreconditionFailed,
  App.OrganizationNotFound,
  App.WebhookNotFound,
  App.DeliveryNotFound,
  App.DeliveryPending,
  App.WebhookDisabled,
  App.WebhookLimitReached,
  App.InvalidWebhookUrl,
  App.WebhooksNotConfigured,
  Http.InvalidRequest,
  Http.UnsupportedMediaType,
  Http.PayloadTooLarge,
  Http.ClientClosedRequest,
  Http.IdempotencyKeyReused,
  Http.UnknownRoute,
  MethodNotAllowed,
  Http.InternalError,
  Http.Misconfigured
] as const

type Answer = InstanceType<(typeof ERRORS)[number]>

export type KnownError = Exclude<Answer, Http.UnknownRoute | MethodNotAllowed | Http.InternalError | Http.Misconfigured>

export type ProblemTag = Answer["_tag"]

type Row<E> = ProblemSpec<E>

export const PROBLEMS = Object.fromEntries(ERRORS.map((error) => [error._tag, problemSpecOf(error)!])) as {
  readonly [T in ProblemTag]: Row<Extract<Answer, { readonly _tag: T }>>
}

export const toProblem = <E extends { readonly _tag: ProblemTag }>(error: E, requestId: string): Problem => {
  const row: Row<any> = problemSpecOfError(error) ?? PROBLEMS[error._tag]
  const code = row.code?.(error) ?? row.codes[0]
  const hint = row.hint?.(error)
  const attemptsLeft = row.attemptsLeft?.(error)
  const problem = new Problem({
    type: `urn:users-api:problem:${code}`,
    title: row.title,
    status: row.status,
    detail: typeof row.detail === "string" ? row.detail : row.detail(error),
    code,
    requestId,
    success: false,
    ...(hint === undefined ? {} : { hint }),
    ...(attemptsLeft === undefined ? {} : { attemptsLeft })
  }, { disableValidation: true })
  const headers = row.headers?.(error)
  if (headers !== undefined) problem.headers = headers
  return problem
}

export const failAsProblem = (error: KnownError): Effect.Effect<never, Problem> =>
  Effect.flatMap(FiberRef.get(CurrentRequest), (ids) => Effect.fail(toProblem(error, ids.requestId)))

export const isKnownError = (error: unknown): error is KnownError => problemSpecOfError(error) !== undefined

// @effect/platform interrupts with this id when the request's signal aborts; body.ts does the same.
const isClientAbort = (cause: Cause.Cause<unknown>): boolean =>
  Cause.isInterruptedOnly(cause) && [...Cause.interruptors(cause)].some((id) => Equal.equals(id, clientAbortFiberId))

const ID_RULE = "must be 1 to 64 characters of A-Z, a-z, 0-9, _ or -."

/** A path or query parameter that does not decode, named, never its value. */
export const invalidParameter = (parameter: string): Http.InvalidRequest =>
  parameter === "id"
    ? new Http.InvalidRequest({ code: "invalid-user-id", detail: `The user id ${ID_RULE}` })
    : parameter === "organizationId"
    ? new Http.InvalidRequest({ code: "invalid-organization-id", detail: `The organization id ${ID_RULE}` })
    : parameter === "webhookId"
    ? new Http.InvalidRequest({ code: "invalid-webhook-id", detail: `The webhook id ${ID_RULE}` })
    : parameter === "eventId"
    ? new Http.InvalidRequest({ code: "invalid-event-id", detail: `The event id ${ID_RULE}` })
    : new Http.InvalidRequest({ code: "invalid-query", detail: `The query parameter ${parameter} is not valid.` })

/** `body`: HttpApiBuilder had taken the body (src/http/json-body.ts), so its decode error is the payload's. */
export const problemOfCause = (
  cause: Cause.Cause<unknown>,
  requestId: string,
  body?: () => DecodeDetail
): Problem => {
  if (isClientAbort(cause)) return toProblem(new Http.ClientClosedRequest(), requestId)
  const error = Cause.squash(cause)
  if (error instanceof Problem) return error
  if (isKnownError(error)) return toProblem(error, requestId)
  if (error instanceof HttpApiDecodeError) {
    const invalid = body !== undefined
      ? new Http.InvalidRequest({ code: "invalid-body", ...body() })
      : invalidParameter(String(error.issues[0]?.path[0] ?? "request"))
    return toProblem(invalid, requestId)
  }
  if (error instanceof RouteNotFound) return toProblem(new Http.UnknownRoute(), requestId)
  return toProblem(new Http.InternalError(), requestId)
}

const ProblemJson = Problem.pipe(HttpApiSchema.withEncoding({ kind: "Json", contentType: "application/problem+json" }))

const encodeProblem = Schema.encodeSync(ProblemJson)
const { contentType } = HttpApiSchema.getEncoding(ProblemJson.ast)

export const problemResponse = (problem: Problem): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(encodeProblem(problem)), {
    status: problem.status,
    contentType,
    headers: problem.headers
  })

const atStatus = new Map<number, Schema.Schema<Problem, any>>()

/** One Problem schema per status, described by its codes, for `addError`. */
export const problemsFor = (errors: ReadonlyArray<Schema.Schema.All>): ReadonlyArray<Schema.Schema<Problem, any>> => {
  const byStatus = new Map<number, Array<string>>()
  for (const error of errors) {
    const row = problemSpecOf(error)!
    byStatus.set(row.status, [...(byStatus.get(row.status) ?? []), ...row.codes])
  }
  return [...byStatus].map(([status, codes]) => {
    const base = atStatus.get(status) ?? ProblemJson.annotations(HttpApiSchema.annotations({ status }))
    atStatus.set(status, base)
    return base.annotations({ description: `code: ${[...new Set(codes)].join(", ")}` })
  })
}

export const withProblems =
  (...errors: ReadonlyArray<Schema.Schema.All>) =>
  <E extends HttpApiEndpoint.HttpApiEndpoint.Any>(
    endpoint: E
  ): HttpApiEndpoint.HttpApiEndpoint.AddError<E, Problem, never> =>
    problemsFor(errors).reduce((e: any, schema) => e.addError(schema), endpoint)

export const answered = <A, E extends KnownError, R>(program: Effect.Effect<A, E, R>): Effect.Effect<A, Problem, R> =>
  Effect.catchIf(program, isKnownError, failAsProblem) as Effect.Effect<A, Problem, R>
