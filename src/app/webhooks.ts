/**
 * The webhook routes' programs: subscriptions of the caller's own organization (create, list, delete, rotate the
 * secret) and their deliveries (list, re-send). A service with `webhooks:write`, and `audit:read` too for what sends
 * or shows events (authorize.ts); another organization is a 404 exactly as its audit head is, and another
 * organization's subscription looks like none. Sending is the relay's (webhook-relay.ts); nothing here contacts a
 * receiver.
 */
import { Clock, Context, Effect } from "effect"
import { checkWebhookUrl, WEBHOOK_URL_REFUSALS, type WebhookUrlRules } from "../domain/webhook-url.js"
import { CurrentPrincipal } from "../services/auth.js"
import {
  type Delivery,
  type DeliveryStatus,
  type WebhookEventType,
  WebhookStore,
  type WebhookSubscription
} from "../services/webhooks.js"
import { authorizeWebhookEvents, authorizeWebhooks } from "./authorize.js"
import { uuidv7 } from "./context.js"
import {
  DeliveryNotFound,
  DeliveryPending,
  InvalidWebhookUrl,
  OrganizationNotFound,
  WebhookDisabled,
  WebhookLimitReached,
  WebhookNotFound,
  WebhooksNotConfigured
} from "./errors.js"
import { subscriptionCreated, wakeRelay } from "./relay-signal.js"
import type { DeriveSecret } from "./webhook-secrets.js"

/** How the deployment treats webhooks: whether it can sign them at all, and which URLs it sends to. */
export class WebhookSettings extends Context.Tag("users-api/WebhookSettings")<WebhookSettings, {
  /** From WEBHOOK_SECRET_KEY; undefined without it (then creating or rotating is a 503 webhooks-not-configured). */
  readonly deriveSecret: DeriveSecret | undefined
  readonly urlRules: WebhookUrlRules
}>() {}

/** Subscriptions per organization: each one is a delivery per event, and a relay's work. */
export const MAX_WEBHOOKS_PER_ORGANIZATION = 10

/** How long the secret a rotation replaces keeps signing. */
export const PREVIOUS_SECRET_VALIDITY_MS = 24 * 60 * 60 * 1000

/** A subscription as the routes show it: never its secret. */
export interface WebhookView {
  readonly id: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly status: "active" | "disabled"
  readonly disabledReason: string | null
  readonly disabledAt: string | null
  readonly createdAt: string
  /** While a rotation's older secrets still sign too: until when. */
  readonly previousSecretExpiresAt: string | null
}

const viewOf = (subscription: WebhookSubscription, now: string): WebhookView => ({
  id: subscription.id,
  url: subscription.url,
  eventTypes: subscription.eventTypes,
  status: subscription.status,
  disabledReason: subscription.disabledReason,
  disabledAt: subscription.disabledAt,
  createdAt: subscription.createdAt,
  previousSecretExpiresAt: subscription.previousUntil !== null && subscription.previousUntil > now
    ? subscription.previousUntil
    : null
})

const nowIso = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis).toISOString())

/**
 * The caller may manage the organization's webhooks: a service with webhooks:write (and audit:read when `events`: the
 * route sends or shows events), of that organization. Each program asks it once, first.
 */
export const authorizeWebhookRoutes = (organizationId: string, events: boolean) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    yield* (events ? authorizeWebhookEvents(principal) : authorizeWebhooks(principal))
    if (organizationId !== principal.organizationId) return yield* new OrganizationNotFound()
  })

const secretDeriver = Effect.flatMap(
  WebhookSettings,
  ({ deriveSecret }) =>
    deriveSecret === undefined ? Effect.fail(new WebhooksNotConfigured()) : Effect.succeed(deriveSecret)
)

const subscriptionOf = (organizationId: string, id: string) =>
  Effect.flatMap(
    Effect.flatMap(WebhookStore, (store) => store.find(organizationId, id)),
    (found) => found === undefined ? Effect.fail(new WebhookNotFound()) : Effect.succeed(found)
  )

export interface CreateWebhookInput {
  readonly organizationId: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
}

/**
 * Who may subscribe in the organization, asked once: what it answers creates the subscription, so that the HTTP
 * handler can authorize before it reads the body, and create without asking again.
 */
export const authorizeCreateWebhook = (organizationId: string) =>
  Effect.as(
    authorizeWebhookRoutes(organizationId, true),
    (input: Omit<CreateWebhookInput, "organizationId">) => created({ organizationId, ...input })
  )

/** A new subscription, active from the organization's next event on, and its secret, shown this once. */
export const createWebhook = (input: CreateWebhookInput) =>
  Effect.flatMap(authorizeCreateWebhook(input.organizationId), (create) => create(input))

const created = (input: CreateWebhookInput) =>
  Effect.gen(function*() {
    const derive = yield* secretDeriver
    const { urlRules } = yield* WebhookSettings
    const checked = checkWebhookUrl(input.url, urlRules)
    if (!checked.ok) return yield* new InvalidWebhookUrl({ detail: WEBHOOK_URL_REFUSALS[checked.refusal] })
    const store = yield* WebhookStore
    if ((yield* store.list(input.organizationId)).length >= MAX_WEBHOOKS_PER_ORGANIZATION) {
      return yield* new WebhookLimitReached({ limit: MAX_WEBHOOKS_PER_ORGANIZATION })
    }
    const now = yield* nowIso
    const subscription = yield* store.create({
      organizationId: input.organizationId,
      id: `wh_${(yield* uuidv7).replaceAll("-", "")}`,
      url: checked.url,
      eventTypes: [...new Set(input.eventTypes)],
      createdAt: now
    })
    yield* subscriptionCreated(input.organizationId)
    return { webhook: viewOf(subscription, now), secret: derive(subscription.id, subscription.generation) }
  })

export const listWebhooks = (organizationId: string) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(organizationId, false)
    const now = yield* nowIso
    return (yield* (yield* WebhookStore).list(organizationId)).map((s) => viewOf(s, now))
  })

/** Deletes the subscription and its deliveries: nothing more is sent to it, and nothing pending goes out. */
export const deleteWebhook = (organizationId: string, id: string) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(organizationId, false)
    if (!(yield* (yield* WebhookStore).remove(organizationId, id))) return yield* new WebhookNotFound()
  })

/**
 * A new secret, shown this once; the secrets in use before keep signing alongside it for 24 hours, so receivers can
 * switch without losing a webhook.
 */
export const rotateWebhookSecret = (organizationId: string, id: string) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(organizationId, true)
    const derive = yield* secretDeriver
    const millis = yield* Clock.currentTimeMillis
    const now = new Date(millis).toISOString()
    const until = new Date(millis + PREVIOUS_SECRET_VALIDITY_MS).toISOString()
    const rotated = yield* (yield* WebhookStore).rotate(organizationId, id, now, until)
    if (rotated === undefined) return yield* new WebhookNotFound()
    return { webhook: viewOf(rotated, now), secret: derive(rotated.id, rotated.generation) }
  })

export interface DeliveriesInput {
  readonly organizationId: string
  readonly webhookId: string
  readonly status: DeliveryStatus | undefined
  readonly afterSequence: number
  readonly limit: number
}

export interface DeliveryPage {
  readonly deliveries: ReadonlyArray<Delivery>
  /** The event number the next page starts after; null on the last page. */
  readonly nextAfterSequence: number | null
}

export const listDeliveries = (input: DeliveriesInput) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(input.organizationId, true)
    yield* subscriptionOf(input.organizationId, input.webhookId)
    // One extra row tells whether another page follows.
    const rows = yield* (yield* WebhookStore).deliveries(input.organizationId, input.webhookId, {
      status: input.status,
      afterSequence: input.afterSequence,
      limit: input.limit + 1
    })
    const deliveries = rows.slice(0, input.limit)
    const page: DeliveryPage = {
      deliveries,
      nextAfterSequence: rows.length > input.limit ? deliveries[deliveries.length - 1]!.eventSequence : null
    }
    return page
  })

/**
 * Sends a delivered or failed delivery again, due now with a fresh day of retries. Its webhook-id is the event's, as
 * before, so a receiver that has it already drops it. A user's later events that are pending wait for it again.
 */
export const resendDelivery = (organizationId: string, webhookId: string, eventId: string) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(organizationId, true)
    const subscription = yield* subscriptionOf(organizationId, webhookId)
    if (subscription.status !== "active") return yield* new WebhookDisabled()
    const store = yield* WebhookStore
    const found = yield* store.delivery(organizationId, webhookId, eventId)
    if (found === undefined) return yield* new DeliveryNotFound()
    if (found.status === "pending") return yield* new DeliveryPending()
    yield* store.resend(organizationId, webhookId, eventId, yield* nowIso)
    yield* wakeRelay(organizationId)
    const delivery = yield* store.delivery(organizationId, webhookId, eventId)
    return delivery ?? found
  })
