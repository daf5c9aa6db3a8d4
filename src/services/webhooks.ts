/**
 * The webhook ports: WebhookStore (subscriptions, and the deliveries the relay derives from the events, on each
 * organization's store) and WebhookTransport (one HTTP request to a receiver). The relay (src/app/webhook-relay.ts)
 * and the routes (src/app/webhooks.ts) are written against these; src/layers has their implementations.
 */
import { Context, type Effect } from "effect"
import type { PhoneFingerprints, UserEvent } from "../domain/user.js"
import type { StoreUnavailable } from "./errors.js"

/** The events a subscription can ask for: every type of the User aggregate (src/domain/events.ts). */
export const WEBHOOK_EVENT_TYPES = [
  "UserCreated",
  "UserPhoneNumberUpdated",
  "UserPhoneNumberVerified",
  "UserPersonalDataErased"
] as const satisfies ReadonlyArray<UserEvent["type"]>
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]

export interface WebhookSubscription {
  readonly organizationId: string
  readonly id: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  /** Which secret signs (src/app/webhook-secrets.ts); a rotation adds one. */
  readonly generation: number
  /** During a rotation: the generation that still signs too, until `previousUntil`. */
  readonly previousGeneration: number | null
  readonly previousUntil: string | null
  readonly status: "active" | "disabled"
  /** `receiver-gone`: the receiver answered 410 Gone. */
  readonly disabledReason: string | null
  readonly disabledAt: string | null
  readonly createdAt: string
}

export type DeliveryStatus = "pending" | "delivered" | "failed"

/**
 * What one attempt came to: the receiver answered (2xx delivered it, 410 disables the subscription, anything else is
 * retried), or no answer came: a timeout, a connection error, or (Bun and Deno) a host that resolved to an address a
 * webhook may not reach.
 */
export type AttemptOutcome = "delivered" | "http-error" | "gone" | "timeout" | "network-error" | "blocked-address"

export interface DeliveryAttempt {
  readonly attemptedAt: string
  readonly durationMs: number
  readonly outcome: AttemptOutcome
  readonly httpStatus: number | null
  /** At most 256 characters of what the receiver answered. */
  readonly responseExcerpt: string | null
}

export interface Delivery {
  readonly subscriptionId: string
  readonly eventSequence: number
  /** Also the webhook-id of every attempt. */
  readonly eventId: string
  readonly eventType: string
  readonly aggregateId: string
  readonly version: number
  readonly status: DeliveryStatus
  readonly nextAttemptAt: string | null
  readonly createdAt: string
  readonly completedAt: string | null
  /** Every attempt so far, oldest first (the last 50). */
  readonly attempts: ReadonlyArray<DeliveryAttempt>
}

/** An event as the organization's feed and a webhook carry it: its chain position and the event, masked. */
export interface ChainedEvent {
  /** The store's event number (commit order per store; src/layers/d1.ts on shards). */
  readonly sequence: number
  readonly prevHash: string
  readonly hash: string
  readonly event: UserEvent
  /** The openings of the event's fingerprint commitments, until its user is erased. */
  readonly fingerprints?: PhoneFingerprints
  /** An event written before commitments whose fingerprints erasure removed: its hash covers what it had. */
  readonly redacted?: true
}

/** A delivery the relay holds the lease of, with what it needs to send it. */
export interface ClaimedDelivery {
  readonly organizationId: string
  readonly subscription: Pick<
    WebhookSubscription,
    "id" | "url" | "generation" | "previousGeneration" | "previousUntil"
  >
  readonly eventSequence: number
  /** Attempts so far in this delivery's retry window. */
  readonly attempts: number
  readonly windowStartedAt: string
  /** The claim's own token: what it records is dropped if the lease was taken over meanwhile. */
  readonly leaseOwner: string
  readonly event: ChainedEvent
}

/** What to write after an attempt: the attempt itself, and where the delivery goes next. */
export interface AttemptRecord {
  readonly attempt: DeliveryAttempt
  readonly next:
    | { readonly status: "delivered" }
    | { readonly status: "failed" }
    | { readonly status: "pending"; readonly nextAttemptAt: string }
  /** Set when the receiver said the subscription is gone (410): it is disabled with this reason. */
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
  /** Creates an active subscription whose cursor is the store's current last event: it sees only what comes next. */
  readonly create: (subscription: NewSubscription) => Effect.Effect<WebhookSubscription, StoreUnavailable>
  readonly list: (organizationId: string) => Effect.Effect<ReadonlyArray<WebhookSubscription>, StoreUnavailable>
  readonly find: (
    organizationId: string,
    id: string
  ) => Effect.Effect<WebhookSubscription | undefined, StoreUnavailable>
  /** Deletes the subscription with its deliveries and attempts; false when there was none. */
  readonly remove: (organizationId: string, id: string) => Effect.Effect<boolean, StoreUnavailable>
  /**
   * A new secret generation; the one in use before keeps signing until `previousUntil` (during a rotation already
   * under way, the oldest one does, so that retrying a rotation never drops the secret receivers have).
   */
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
  /** A delivered or failed delivery pending again, due now, with a fresh retry window. */
  readonly resend: (
    organizationId: string,
    subscriptionId: string,
    eventId: string,
    now: string
  ) => Effect.Effect<void, StoreUnavailable>

  // The relay's side, over every store this process serves.
  /**
   * For every active subscription, a pending delivery of each matching event after its cursor, and the cursor
   * moved past them, in one atomic unit per store; at most `span` events a round. Answers how many.
   */
  readonly derive: (now: string, span: number) => Effect.Effect<number, StoreUnavailable>
  /**
   * Takes the lease (`owner` until `leaseUntil`) of at most `limit` due deliveries of active subscriptions, in one
   * UPDATE … RETURNING per store, skipping any with an earlier delivery of the same user to the same subscription
   * still pending: a user's events go out in version order. A lease that expired is taken like a free one. Fair:
   * subscriptions and organizations take turns, and none has more than `perSubscription` leases at once.
   */
  readonly claim: (options: {
    readonly owner: string
    readonly now: string
    readonly leaseUntil: string
    readonly limit: number
    readonly perSubscription: number
  }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreUnavailable>
  /** Writes the attempt, and the delivery's next state if the lease is still the claim's. */
  readonly record: (claimed: ClaimedDelivery, record: AttemptRecord) => Effect.Effect<void, StoreUnavailable>
  /** The earliest time a pending delivery of an active subscription is due (not one held back behind its user's). */
  readonly nextDue: Effect.Effect<string | undefined, StoreUnavailable>
  /** Forgets completed deliveries (and their attempts) older than the retention; bounded per call. */
  readonly sweep: (deliveredBefore: string, failedBefore: string) => Effect.Effect<void, StoreUnavailable>
  /** Whether the organization has an active subscription (the Worker asks before it wakes the relay). */
  readonly hasActive: (organizationId: string) => Effect.Effect<boolean, StoreUnavailable>
}>() {}

export interface OutgoingWebhook {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly timeoutMs: number
}

/** At most this much of a receiver's answer is read and kept with the attempt. */
export const RESPONSE_EXCERPT_LENGTH = 256

/** What came back from one request to a receiver. */
export type TransportResult =
  | { readonly kind: "response"; readonly status: number; readonly excerpt: string }
  | { readonly kind: "timeout" }
  | { readonly kind: "network-error"; readonly detail: string }
  | { readonly kind: "blocked-address" }

export class WebhookTransport extends Context.Tag("users-api/WebhookTransport")<WebhookTransport, {
  /** One POST, no redirect followed; never fails: every way it can go is a TransportResult. */
  readonly send: (webhook: OutgoingWebhook) => Effect.Effect<TransportResult>
}>() {}

/**
 * Told, synchronously and in the writer's fiber, that something the relay may have to send was just written (an event
 * committed, a delivery re-sent): the Bun and Deno servers wake their relay with it, the Worker sends its queue a
 * message. Optional: without it the relay finds the work on its next poll (src/app/webhook-relay.ts).
 */
export class RelaySignal extends Context.Tag("users-api/RelaySignal")<RelaySignal, {
  readonly wake: (organizationId: string) => void
  /** Told after a subscription is created: the Worker forgets that the organization had none. */
  readonly subscribed?: ((organizationId: string) => void) | undefined
}>() {}
