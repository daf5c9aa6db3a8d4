/** The webhook routes. Nothing here contacts a receiver: sending is webhook-relay.ts's. */
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

export class WebhookSettings extends Context.Tag("users-api/WebhookSettings")<WebhookSettings, {
  /** Undefined without WEBHOOK_SECRET_KEY: creating or rotating is then a 503. */
  readonly deriveSecret: DeriveSecret | undefined
  readonly urlRules: WebhookUrlRules
}>() {}

/** Each subscription is a delivery per event, and relay work. */
export const MAX_WEBHOOKS_PER_ORGANIZATION = 10

export const PREVIOUS_SECRET_VALIDITY_MS = 24 * 60 * 60 * 1000

export interface WebhookView {
  readonly id: string
  readonly url: string
  readonly eventTypes: ReadonlyArray<WebhookEventType>
  readonly status: "active" | "disabled"
  readonly disabledReason: string | null
  readonly disabledAt: string | null
  readonly createdAt: string
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

/** `events`: the route sends or shows events, so it needs audit:read too. */
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

/** Split so the HTTP handler authorizes before it reads the body. */
export const authorizeCreateWebhook = (organizationId: string) =>
  Effect.as(
    authorizeWebhookRoutes(organizationId, true),
    (input: Omit<CreateWebhookInput, "organizationId">) => created({ organizationId, ...input })
  )

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

/** Deletes the deliveries too: nothing pending goes out. */
export const deleteWebhook = (organizationId: string, id: string) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(organizationId, false)
    if (!(yield* (yield* WebhookStore).remove(organizationId, id))) return yield* new WebhookNotFound()
  })

/** The previous secrets keep signing for 24 hours, so receivers can switch without losing a webhook. */
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
  readonly nextAfterSequence: number | null
}

export const listDeliveries = (input: DeliveriesInput) =>
  Effect.gen(function*() {
    yield* authorizeWebhookRoutes(input.organizationId, true)
    yield* subscriptionOf(input.organizationId, input.webhookId)
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

/** The webhook-id stays the event's, so a receiver that has it drops it. */
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
