/**
 * Why the application refuses a request beyond what the domain and the ports say: a precondition the caller set,
 * an organization the caller may not see, and the webhook routes' refusals. src/http/problems.ts turns each into its
 * answer.
 */
import { Data } from "effect"

/** `If-Match` named a version other than the current one; nothing was written. */
export class PreconditionFailed extends Data.TaggedError("PreconditionFailed")<{
  readonly expected: string
  readonly current: number
}> {}

/** The organization is not the caller's (other organizations look the same as unknown ones). */
export class OrganizationNotFound extends Data.TaggedError("OrganizationNotFound")<{}> {}

/** No webhook subscription with this id in the caller's organization (another organization's looks the same). */
export class WebhookNotFound extends Data.TaggedError("WebhookNotFound")<{}> {}

/** The subscription has no delivery of this event. */
export class DeliveryNotFound extends Data.TaggedError("DeliveryNotFound")<{}> {}

/** A re-send of a delivery that is still pending: it goes out anyway, on its schedule. */
export class DeliveryPending extends Data.TaggedError("DeliveryPending")<{}> {}

/** A re-send on a subscription that is disabled: nothing would send it. */
export class WebhookDisabled extends Data.TaggedError("WebhookDisabled")<{}> {}

/** The organization has as many subscriptions as one may have. */
export class WebhookLimitReached extends Data.TaggedError("WebhookLimitReached")<{ readonly limit: number }> {}

/** The URL of a new subscription is one a webhook may not be sent to (src/domain/webhook-url.ts says why). */
export class InvalidWebhookUrl extends Data.TaggedError("InvalidWebhookUrl")<{ readonly detail: string }> {}

/** This deployment has no WEBHOOK_SECRET_KEY, so it cannot sign webhooks; the rest of the service is unaffected. */
export class WebhooksNotConfigured extends Data.TaggedError("WebhooksNotConfigured")<{}> {}
