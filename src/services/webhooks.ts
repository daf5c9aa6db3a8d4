import { Context, type Effect } from "effect"
import type { PhoneFingerprints, UserEvent } from "../domain/user.js"
import type { StoreUnavailable } from "./errors.js"

export const WEBHOOK_EVENT_TYPES = [
  "UserCreated",
  "UserPhoneNumberUpdated",
  "UserPhoneNumberVerified",
  "UserPersonalDataErased",
  "UserPhoneNumberChangeRequested",
  "UserPhoneNumberReleased"
] as const satisfies ReadonlyArray<UserEvent["type"]>
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

export interface WebhookSubscription {
  readonly organizationId: string
  readonly id: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly generation: number
  readonly previousGeneration: number | null
  readonly previousUntil: string | null
  readonly status: "active" | "disabled"
  readonly disabledReason: string | null
  readonly disabledAt: string | null
  readonly createdAt: string
}

export type DeliveryStatus = "pending" | "delivered" | "failed"

export type AttemptOutcome = "delivered" | "http-error" | "gone" | "timeout" | "network-error" | "blocked-address"

export interface DeliveryAttempt {
  readonly attemptedAt: string
  readonly durationMs: number
  readonly outcome: AttemptOutcome
  readonly httpStatus: number | null
  readonly responseExcerpt: string | null
}

export interface Delivery {
  readonly subscriptionId: string
  readonly eventSequence: number
  readonly eventId: string
  readonly eventType: string
  readonly aggregateId: string
  readonly version: number
  readonly status: DeliveryStatus
  readonly nextAttemptAt: string | null
  readonly createdAt: string
  readonly completedAt: string | null
  readonly attempts: ReadonlyArray<DeliveryAttempt>
}

export interface ChainedEvent {
  readonly sequence: number
  readonly prevHash: string
  readonly hash: string
  readonly event: UserEvent
  readonly fingerprints?: PhoneFingerprints
  readonly redacted?: true
}

export interface ClaimedDelivery {
  readonly organizationId: string
  readonly subscription: Pick<
    WebhookSubscription,
    "id" | "url" | "generation" | "previousGeneration" | "previousUntil"
  >
  readonly eventSequence: number
  readonly attempts: number
  readonly windowStartedAt: string
  readonly leaseOwner: string
  readonly event: ChainedEvent
}

export interface AttemptRecord {
  readonly attempt: DeliveryAttempt
  readonly next:
    | { readonly status: "delivered" }
    | { readonly status: "failed" }
    | { readonly status: "pending"; readonly nextAttemptAt: string }
  readonly disable?: string
}

export interface NewSubscription {
  readonly organizationId: string
  readonly id: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly createdAt: string
}

export interface DeliveryQuery {
  readonly status: DeliveryStatus | undefined
  readonly afterSequence: number
  readonly limit: number
}

export class WebhookStore extends Context.Tag("users-api/WebhookStore")<WebhookStore, {
  readonly create: (subscription: NewSubscription) => Effect.Effect<WebhookSubscription, StoreUnavailable>
  readonly list: (organizationId: string) => Effect.Effect<ReadonlyArray<WebhookSubscription>, StoreUnavailable>
  readonly find: (
    organizationId: string,
    id: string
  ) => Effect.Effect<WebhookSubscription | undefined, StoreUnavailable>
  readonly remove: (organizationId: string, id: string) => Effect.Effect<boolean, StoreUnavailable>
  /** Mid-rotation the oldest secret keeps signing. */
  readonly rotate: (
    organizationId: string,
    id: string,
    now: string,
    previousUntil: string
  ) => Effect.Effect<WebhookSubscription | undefined, StoreUnavailable>
  readonly deliveries: (
    organizationId: string,
    subscriptionId: string,
    query: DeliveryQuery
  ) => Effect.Effect<ReadonlyArray<Delivery>, StoreUnavailable>
  readonly delivery: (
    organizationId: string,
    subscriptionId: string,
    eventId: string
  ) => Effect.Effect<Delivery | undefined, StoreUnavailable>
  readonly resend: (
    organizationId: string,
    subscriptionId: string,
    eventId: string,
    now: string
  ) => Effect.Effect<void, StoreUnavailable>

  readonly derive: (now: string, span: number) => Effect.Effect<number, StoreUnavailable>
  /** A user's events go out in version order. */
  readonly claim: (options: {
    readonly owner: string
    readonly now: string
    readonly leaseUntil: string
    readonly limit: number
    readonly perSubscription: number
  }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreUnavailable>
  readonly record: (claimed: ClaimedDelivery, record: AttemptRecord) => Effect.Effect<void, StoreUnavailable>
  readonly nextDue: Effect.Effect<string | undefined, StoreUnavailable>
  readonly sweep: (deliveredBefore: string, failedBefore: string) => Effect.Effect<void, StoreUnavailable>
  readonly hasActive: (organizationId: string) => Effect.Effect<boolean, StoreUnavailable>
}>() {}

export interface OutgoingWebhook {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly timeoutMs: number
}

export const RESPONSE_EXCERPT_LENGTH = 256

export type TransportResult =
  | { readonly kind: "response"; readonly status: number; readonly excerpt: string }
  | { readonly kind: "timeout" }
  | { readonly kind: "network-error"; readonly detail: string }
  | { readonly kind: "blocked-address" }

export class WebhookTransport extends Context.Tag("users-api/WebhookTransport")<WebhookTransport, {
  readonly send: (webhook: OutgoingWebhook) => Effect.Effect<TransportResult>
}>() {}

export class RelaySignal extends Context.Tag("users-api/RelaySignal")<RelaySignal, {
  readonly wake: (organizationId: string) => void
  readonly subscribed?: ((organizationId: string) => void) | undefined
}>() {}
