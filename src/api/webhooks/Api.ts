/** The webhooks feature's contract: subscriptions, their secrets and their deliveries. */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import * as App from "../../app/errors.js"
import { MAX_WEBHOOK_URL_LENGTH } from "../../domain/webhook-url.js"
import * as Http from "../../http/errors.js"
import { JsonBody, STRICT_BODY } from "../../http/json-body.js"
import { withProblems } from "../../http/problems.js"
import { WEBHOOK_EVENT_TYPES } from "../../services/webhooks.js"
import {
  Authentication,
  Cursor,
  ORGANIZATION_PROBLEMS,
  OrganizationId,
  QueryInteger,
  ResourceId,
  Timestamp
} from "../common.js"
import { CreateWebhookGate } from "./Gates.js"

export const WebhookEventType = Schema.Literal(...WEBHOOK_EVENT_TYPES).annotations({
  identifier: "WebhookEventType",
  description: "A type of the User aggregate's events."
})

export const CreateWebhookBody = Schema.Struct({
  url: Schema.String.pipe(Schema.minLength(1)).annotations({
    description:
      `Where to POST the events: https (http only to the loopback in local development), at most ${MAX_WEBHOOK_URL_LENGTH} characters, no user name or password, no loopback, private, link-local or reserved address.`,
    examples: ["https://hooks.example.com/users-api"]
  }),
  eventTypes: Schema.Array(WebhookEventType).pipe(Schema.minItems(1), Schema.maxItems(WEBHOOK_EVENT_TYPES.length))
    .annotations({
      description: "The event types to send; duplicates count once.",
      examples: [["UserPhoneNumberUpdated"]]
    })
}).annotations({ identifier: "CreateWebhookRequest", parseOptions: STRICT_BODY })

export const Webhook = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  eventTypes: Schema.Array(WebhookEventType),
  status: Schema.Literal("active", "disabled"),
  disabledReason: Schema.NullOr(Schema.String).annotations({
    description: "Why it is disabled: receiver-gone (the receiver answered 410 Gone); null while active."
  }),
  disabledAt: Schema.NullOr(Timestamp),
  createdAt: Timestamp,
  previousSecretExpiresAt: Schema.NullOr(Timestamp).annotations({
    description: "After a rotation: until when the secrets it replaced still sign too (null otherwise)."
  })
}).annotations({ identifier: "Webhook" })

export const WebhookWithSecretResponse = Schema.Struct({
  success: Schema.Literal(true),
  webhook: Webhook,
  secret: Schema.String.annotations({
    description: "The signing secret (whsec_…), shown this once: keep it in the receiver's configuration. It is " +
      "not stored (it is derived again for every delivery) and no route shows it again."
  })
}).annotations({ identifier: "WebhookWithSecret" })

export const WebhookListResponse = Schema.Struct({
  success: Schema.Literal(true),
  webhooks: Schema.Array(Webhook)
}).annotations({ identifier: "WebhookList" })

export const DeliveryAttempt = Schema.Struct({
  attemptedAt: Timestamp,
  durationMs: Schema.Int.annotations({ description: "How long the receiver took to answer, in milliseconds." }),
  outcome: Schema.Literal("delivered", "http-error", "gone", "timeout", "network-error", "blocked-address"),
  httpStatus: Schema.NullOr(Schema.Int.annotations({ description: "The receiver's HTTP status" })).annotations({
    description: "The receiver's HTTP status; null when it did not answer."
  }),
  responseExcerpt: Schema.NullOr(Schema.String).annotations({
    description: "At most 256 characters of the receiver's answer (or of the connection error)."
  })
}).annotations({ identifier: "DeliveryAttempt" })

export const Delivery = Schema.Struct({
  eventSequence: Schema.Int.annotations({ description: "The organization's own event number (the feed's sequence)." }),
  eventId: Schema.String.annotations({ description: "The event's id, and the webhook-id of every attempt." }),
  eventType: Schema.String,
  aggregateId: Schema.String,
  version: Schema.Int.annotations({ description: "The event's version in its user's chain (1, 2, 3…)." }),
  status: Schema.Literal("pending", "delivered", "failed"),
  nextAttemptAt: Schema.NullOr(Timestamp),
  createdAt: Timestamp,
  completedAt: Schema.NullOr(Timestamp),
  attempts: Schema.Array(DeliveryAttempt)
}).annotations({ identifier: "Delivery" })

export const DeliveryPageResponse = Schema.Struct({
  success: Schema.Literal(true),
  webhookId: Schema.String,
  deliveries: Schema.Array(Delivery),
  nextCursor: Schema.NullOr(Schema.String).annotations({ description: "after= of the next page, or null" })
}).annotations({ identifier: "DeliveryPage" })

export const DeliveryResponse = Schema.Struct({
  success: Schema.Literal(true),
  delivery: Delivery
}).annotations({ identifier: "DeliveryAnswer" })

const DeliveriesQuery = Schema.Struct({
  status: Schema.optional(Schema.Literal("pending", "delivered", "failed")),
  after: Schema.optional(Cursor),
  limit: Schema.optional(QueryInteger(1, 100, "At most this many deliveries (default 50)."))
})

const OrganizationPath = HttpApiSchema.param("organizationId", OrganizationId)
const WebhookIdPath = HttpApiSchema.param("webhookId", ResourceId)

const WEBHOOK_PROBLEMS = [...ORGANIZATION_PROBLEMS, App.WebhookNotFound]

export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("createWebhook")`/organizations/${OrganizationPath}/webhooks`
      .setPayload(CreateWebhookBody)
      .addSuccess(WebhookWithSecretResponse.annotations(HttpApiSchema.annotations({ status: 201 })))
      .pipe(withProblems(
        ...WEBHOOK_PROBLEMS,
        App.InvalidWebhookUrl,
        App.WebhookLimitReached,
        Http.PayloadTooLarge,
        Http.UnsupportedMediaType,
        App.WebhooksNotConfigured
      ))
      .middleware(JsonBody)
      .middleware(CreateWebhookGate)
      .annotate(OpenApi.Summary, "Subscribe a URL to the events (webhooks:write, audit:read); the secret once")
      .annotate(
        OpenApi.Description,
        "From the organization's next event on, each event of the types named is POSTed to the URL, signed as " +
          "Standard Webhooks specifies (webhook-id is the event id), at least once and, per user, in version order. " +
          "The answer carries the signing secret, which no route shows again; earlier events are the feed's " +
          "(GET /organizations/{id}/events). Takes no Idempotency-Key: a kept answer would keep the secret."
      )
  )
  .add(
    HttpApiEndpoint.get("listWebhooks")`/organizations/${OrganizationPath}/webhooks`
      .addSuccess(WebhookListResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS))
      .annotate(OpenApi.Summary, "The organization's subscriptions, never their secrets (webhooks:write)")
  )
  .add(
    HttpApiEndpoint.del("deleteWebhook")`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}`
      .addSuccess(HttpApiSchema.NoContent)
      .pipe(withProblems(...WEBHOOK_PROBLEMS))
      .annotate(OpenApi.Summary, "Delete a subscription and its deliveries; nothing more is sent to it (204)")
  )
  .add(
    HttpApiEndpoint.post(
      "rotateWebhookSecret"
    )`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}/rotate-secret`
      .addSuccess(WebhookWithSecretResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS, App.WebhooksNotConfigured))
      .annotate(OpenApi.Summary, "A new signing secret, shown once; the old one keeps signing too for 24 hours")
  )
  .add(
    HttpApiEndpoint.get("listDeliveries")`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}/deliveries`
      .setUrlParams(DeliveriesQuery)
      .addSuccess(DeliveryPageResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS))
      .annotate(OpenApi.Summary, "A subscription's deliveries with every attempt, oldest event first (?status=failed)")
  )
  .add(
    HttpApiEndpoint.post("resendDelivery")`/organizations/${OrganizationPath}/webhooks/${WebhookIdPath}/deliveries/${
      HttpApiSchema.param("eventId", ResourceId)
    }/resend`
      .addSuccess(DeliveryResponse)
      .pipe(withProblems(...WEBHOOK_PROBLEMS, App.DeliveryNotFound, App.DeliveryPending, App.WebhookDisabled))
      .annotate(OpenApi.Summary, "Send a delivered or failed delivery again, now, with a fresh day of retries")
  )
  // On each endpoint above (so it stays after the last `.add`), to run before createWebhook's gate and JsonBody;
  // its errors stay the group's, as the OpenAPI document had them.
  .middlewareEndpoints(Authentication)
  .addError(Authentication.failure)
  .annotate(
    OpenApi.Description,
    "Signed deliveries of the organization's events (Standard Webhooks): subscriptions, their secrets, and every " +
      "delivery with its attempts."
  )
{}
