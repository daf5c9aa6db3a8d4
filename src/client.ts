/**
 * The typed client of users-api, made by @effect/platform's HttpApiClient from the contract the server implements
 * (src/http/api.ts), so contract, server and client cannot drift: every endpoint of every group is a method
 * (`client.users.updatePhoneNumber`, `client.audit.auditHead`, `client.health.health`, and any endpoint added to the
 * contract later), its path, query, headers and payload are encoded by the contract's schemas, and its answer is
 * decoded by them: a success into the declared success schema (events with `UserEvent`), an error into the
 * `Problem` declared for its status (status, code, detail, requestId, hint), with the answer's headers in
 * `problem.headers`. An answer the contract does not declare for the endpoint fails as an `HttpClientError`
 * (`ResponseError`, with the response); a declared status whose body does not match its schema, as a `ParseError`.
 *
 * Both credentials go on every call: `Authorization: Bearer <token>` and `X-API-Key`, per client, and no redirect is
 * followed (fetch would carry `X-API-Key` to the other origin): a 3xx fails as a `ResponseError`. It runs on any
 * runtime with a global fetch (`UsersClient.layer` provides `FetchHttpClient.layer`), and loads nothing of the
 * server: no store, no jose, no phone metadata. Also exported here: the receiver's webhook verifier, the check of the
 * organization's feed against its audit head (`verifyFeed`), and the contract's schemas.
 *
 *   const client = yield* makeUsersClient({ baseUrl, apiKey, token })
 *   const answer = yield* client.users.updatePhoneNumber({
 *     path: { id: "user_42" }, payload: { phoneNumber: "+14155552671" }, headers: {}
 *   })
 */
import {
  FetchHttpClient,
  HttpApiClient,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  type HttpClientResponse
} from "@effect/platform"
import { Context, Effect, FiberRef, Layer, Option, Redacted } from "effect"
import { UsersApi } from "./http/api.js"
import { Problem } from "./http/problems.js"

export { AuditHeadResponse, FeedEntry, FeedResponse } from "./api/audit/Api.js"
export { UserId } from "./api/common.js"
export {
  CommandResponse,
  CreateUserBody,
  EventPageResponse,
  MarkPhoneNumberVerifiedBody,
  UpdatePhoneNumberBody,
  UserResponse
} from "./api/users/Api.js"
export {
  CreateWebhookBody,
  Delivery,
  DeliveryAttempt,
  DeliveryPageResponse,
  Webhook,
  WebhookEventType,
  WebhookListResponse,
  WebhookWithSecretResponse
} from "./api/webhooks/Api.js"
export {
  type FeedCheck,
  type FeedCheckOptions,
  type FeedEntry as FeedCheckEntry,
  type FeedHead,
  type FeedProblem,
  verifyFeed
} from "./audit/feed.js"
export {
  Actor,
  EventMetadata,
  UserCreated,
  UserEvent,
  UserPersonalDataErased,
  UserPhoneNumberUpdated,
  UserPhoneNumberVerified
} from "./domain/events.js"
export { MaskedPhoneNumber } from "./domain/masked-phone-number.js"
export { UsersApi } from "./http/api.js"
export { Problem } from "./http/problems.js"
export { generateWebhookSecret, signWebhook, WEBHOOK_HEADERS, webhookHeaders } from "./webhooks/signature.js"
export {
  type VerifiedWebhook,
  type VerifyOptions,
  verifyWebhook,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookRequestHeaders,
  WebhookVerificationError,
  type WebhookVerificationFailure
} from "./webhooks/verify.js"

export interface UsersClientOptions {
  /** Where the service answers, e.g. `https://users.example.com` (paths are appended to it). */
  readonly baseUrl: string | URL
  /** The organization's API key, sent as `X-API-Key`. */
  readonly apiKey: string | Redacted.Redacted<string>
  /** The caller's JWT (a user's or a service's), sent as `Authorization: Bearer`. */
  readonly token: string | Redacted.Redacted<string>
  /**
   * Changes to the HTTP client under the typed one: a timeout, retries (`HttpClient.retryTransient`), a header of
   * your own on every call (`HttpClient.mapRequest(HttpClientRequest.setHeader("x-request-id", …))`), logging.
   */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * The answer being decoded, per fiber: the HTTP client sets it when an answer arrives and the decoding of that answer
 * reads it in the same fiber, to give a Problem the answer's headers (the typed client hands over only the body).
 */
const currentAnswer = FiberRef.unsafeMake<HttpClientResponse.HttpClientResponse | undefined>(undefined)

const isProblem = (error: unknown): error is Problem => error instanceof Problem

/** A decoded Problem gets the headers of the answer it came from (WWW-Authenticate, Retry-After, X-Request-Id, …). */
const withAnswerHeaders = (decoded: Effect.Effect<unknown, unknown>): Effect.Effect<unknown, unknown> =>
  Effect.catchIf(decoded, isProblem, (problem) =>
    Effect.flatMap(FiberRef.get(currentAnswer), (answer) => {
      if (answer !== undefined) problem.headers = { ...answer.headers }
      return Effect.fail(problem)
    }))

/** 300-308 but 304 (not a redirect); 0 is the opaque answer a browser's fetch gives a redirect it did not follow. */
const isRedirect = (status: number): boolean => status === 0 || (status >= 300 && status < 400 && status !== 304)

/**
 * fetch is told not to follow redirects (the credentials would go with it to wherever Location points), and a
 * redirect that reaches the client, from fetch or from a client of your own, fails the call instead of being decoded.
 */
const refuseRedirects = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.transform((answer) =>
      Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
        Effect.provideService(answer, FetchHttpClient.RequestInit, {
          ...Option.getOrElse(init, () => ({})),
          redirect: "manual"
        }))
    ),
    HttpClient.filterOrFail(
      (answer) =>
        !isRedirect(answer.status),
      (answer) =>
        new HttpClientError.ResponseError({
          request: answer.request,
          response: answer,
          reason: "StatusCode",
          description: `a redirect (${answer.status}) is not followed: the credentials would go with it`
        })
    )
  )

const reveal = (secret: string | Redacted.Redacted<string>): string =>
  typeof secret === "string" ? secret : Redacted.value(secret)

/**
 * The client, over the `HttpClient` in context (`FetchHttpClient.layer` for the global fetch). Cheap to make: make
 * one per set of credentials (a user's token, a service's).
 */
export const makeUsersClient = (options: UsersClientOptions) => {
  const token = reveal(options.token)
  const apiKey = reveal(options.apiKey)
  return HttpApiClient.make(UsersApi, {
    baseUrl: options.baseUrl,
    transformClient: (client) =>
      (options.transformClient === undefined ? client : options.transformClient(client)).pipe(
        HttpClient.mapRequest((request) =>
          request.pipe(HttpClientRequest.bearerToken(token), HttpClientRequest.setHeader("x-api-key", apiKey))
        ),
        refuseRedirects,
        HttpClient.tap((answer) => FiberRef.set(currentAnswer, answer))
      ),
    transformResponse: withAnswerHeaders
  })
}

/** The client's type: one property per group of the contract, one method per endpoint. */
export type UsersApiClient = Effect.Effect.Success<ReturnType<typeof makeUsersClient>>

/** The client as a service, for programs that take it from their context. */
export class UsersClient extends Context.Tag("users-api/UsersClient")<UsersClient, UsersApiClient>() {
  /** The client over the runtime's global fetch. */
  static readonly layer = (options: UsersClientOptions): Layer.Layer<UsersClient> =>
    Layer.effect(UsersClient, makeUsersClient(options)).pipe(Layer.provide(FetchHttpClient.layer))

  /** The client over the `HttpClient` you provide (another fetch, a test double, a client with middleware). */
  static readonly layerWithoutFetch = (
    options: UsersClientOptions
  ): Layer.Layer<UsersClient, never, HttpClient.HttpClient> => Layer.effect(UsersClient, makeUsersClient(options))
}
