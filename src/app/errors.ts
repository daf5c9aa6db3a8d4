/** Refusals beyond the domain's and the ports'; each declares its HTTP answer on its schema. */
import * as Schema from "effect/Schema"
import { problem } from "../domain/problem.js"

export class PreconditionFailed extends Schema.TaggedError<PreconditionFailed>()(
  "PreconditionFailed",
  {
    expected: Schema.String,
    current: Schema.Number
  },
  problem<{ readonly expected: string; readonly current: number }>({
    status: 412,
    title: "Precondition failed",
    codes: ["version-mismatch"],
    detail: (e) => `If-Match named version ${e.expected} but the user is at version ${e.current}; nothing was written.`
  })
) {}

/** Other organizations look the same as unknown ones. */
export class OrganizationNotFound extends Schema.TaggedError<OrganizationNotFound>()(
  "OrganizationNotFound",
  {},
  problem({
    status: 404,
    title: "Organization not found",
    codes: ["organization-not-found"],
    detail: "No such organization is visible to you."
  })
) {}

export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()(
  "WebhookNotFound",
  {},
  problem({
    status: 404,
    title: "Webhook not found",
    codes: ["webhook-not-found"],
    detail: "No webhook subscription with this id exists in your organization."
  })
) {}

export class DeliveryNotFound extends Schema.TaggedError<DeliveryNotFound>()(
  "DeliveryNotFound",
  {},
  problem({
    status: 404,
    title: "Delivery not found",
    codes: ["delivery-not-found"],
    detail: "The webhook subscription has no delivery of this event."
  })
) {}

export class DeliveryPending extends Schema.TaggedError<DeliveryPending>()(
  "DeliveryPending",
  {},
  problem({
    status: 409,
    title: "Delivery pending",
    codes: ["delivery-pending"],
    detail: "The delivery is still pending: it is sent on its schedule, and can be re-sent once delivered or failed."
  })
) {}

export class WebhookDisabled extends Schema.TaggedError<WebhookDisabled>()(
  "WebhookDisabled",
  {},
  problem({
    status: 409,
    title: "Webhook disabled",
    codes: ["webhook-disabled"],
    detail: "The webhook subscription is disabled (its receiver answered 410 Gone); nothing is sent to it."
  })
) {}

export class WebhookLimitReached extends Schema.TaggedError<WebhookLimitReached>()(
  "WebhookLimitReached",
  {
    limit: Schema.Number
  },
  problem<{ readonly limit: number }>({
    status: 409,
    title: "Webhook limit reached",
    codes: ["webhook-limit-reached"],
    detail: (e) => `Your organization has ${e.limit} webhook subscriptions, the most it may have; delete one first.`
  })
) {}

export class InvalidWebhookUrl extends Schema.TaggedError<InvalidWebhookUrl>()(
  "InvalidWebhookUrl",
  {
    detail: Schema.String
  },
  problem<{ readonly detail: string }>({
    status: 400,
    title: "Bad request",
    codes: ["invalid-webhook-url"],
    detail: (e) => e.detail
  })
) {}

export class WebhooksNotConfigured extends Schema.TaggedError<WebhooksNotConfigured>()(
  "WebhooksNotConfigured",
  {},
  problem({
    status: 503,
    title: "Webhooks not configured",
    codes: ["webhooks-not-configured"],
    // No Retry-After: it lasts until the operator sets the key.
    detail: "This deployment has no WEBHOOK_SECRET_KEY, so it cannot sign webhooks; its operator must set one."
  })
) {}
