/**
 * The typed client of users-api, derived from the server's contract (src/http/api.ts): errors decode to `Problem`
 * (answer headers in `problem.headers`); redirects are refused, as the credentials would follow them.
 *   const client = yield* makeUsersClient({ baseUrl, apiKey, token })
 *   const user = yield* client.users.getUser({ path: { id: "user_42" } })
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

// What `transformClient` and `layerWithoutFetch` are written with: bundled in the package, so a consumer with only
// `effect` has them, and their types are the ones the client's options name.
export { FetchHttpClient, HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "@effect/platform"
export { AuditHeadResponse, FeedEntry, FeedResponse } from "./api/audit/Api.js"
export { UserId } from "./api/common.js"
export {
  LookupMatch,
  LookupUsersBody,
  LookupUsersResponse,
  PhoneLookupRecord,
  PhoneLookupsResponse,
  PhonePolicy,
  PhonePolicyResponse
} from "./api/phones/Api.js"
export {
  CommandResponse,
  CreateUserBody,
  EventPageResponse,
  MarkPhoneNumberVerifiedBody,
  PendingChangeResponse,
  UpdatePhoneNumberBody,
  UserResponse
} from "./api/users/Api.js"
export { CodeDeliveryBody, CodeDeliveryResponse, ConfirmPhoneNumberChangeBody } from "./api/verification/Api.js"
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
  UserPhoneNumberChangeRequested,
  UserPhoneNumberReleased,
  UserPhoneNumberUpdated,
  UserPhoneNumberVerified
} from "./domain/events.js"
export { MaskedPhoneNumber } from "./domain/masked-phone-number.js"
export { CodeLimits, LINE_TYPES, LineType, RegionCode, REGIONS } from "./domain/phone-policy-schema.js"
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
  /** e.g. `https://users.example.com`. */
  readonly baseUrl: string | URL
  /** Sent as `X-API-Key`. */
  readonly apiKey: string | Redacted.Redacted<string>
  /** A user's or a service's JWT, sent as `Authorization: Bearer`. */
  readonly token: string | Redacted.Redacted<string>
  /** Changes to the underlying HttpClient: a timeout, retries, a header of your own. */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

// Set when an answer arrives, so its decoding, in the same fiber, can give a Problem the headers (HttpApiClient
// hands over only the body).
const currentAnswer = FiberRef.unsafeMake<HttpClientResponse.HttpClientResponse | undefined>(undefined)

const isProblem = (error: unknown): error is Problem => error instanceof Problem

const withAnswerHeaders = (decoded: Effect.Effect<unknown, unknown>): Effect.Effect<unknown, unknown> =>
  Effect.catchIf(decoded, isProblem, (problem) =>
    Effect.flatMap(FiberRef.get(currentAnswer), (answer) => {
      if (answer !== undefined) problem.headers = { ...answer.headers }
      return Effect.fail(problem)
    }))

/** 304 is no redirect; 0 is a browser's opaque answer to a redirect it did not follow. */
const isRedirect = (status: number): boolean => status === 0 || (status >= 300 && status < 400 && status !== 304)

/** Redirects are not followed: the credentials would go with them to wherever Location points. */
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

/** The client over the `HttpClient` in context; cheap, so make one per set of credentials. */
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

/** One property per group, one method per endpoint. */
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
