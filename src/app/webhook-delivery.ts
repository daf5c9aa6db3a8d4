/**
 * One delivery attempt, signed as Standard Webhooks specifies (webhook-id = the event id): 2xx is delivered, 410
 * disables the subscription, anything else is retried with back-off for about a day, then failed.
 */
import { Chunk, Clock, Duration, Effect, Schedule } from "effect"
import {
  type AttemptOutcome,
  type AttemptRecord,
  type ChainedEvent,
  type ClaimedDelivery,
  RESPONSE_EXCERPT_LENGTH,
  type TransportResult,
  WebhookStore,
  WebhookTransport
} from "../services/webhooks.js"
import { webhookHeaders } from "../webhooks/signature.js"
import { type DeriveSecret, signingSecrets } from "./webhook-secrets.js"

/** Full jitter, so receivers that fail together are not retried together. */
export interface RetryPolicy {
  readonly maxAttempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly windowMs: number
  readonly random?: () => number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 5 * 60_000,
  maxDelayMs: 12 * 60 * 60_000,
  windowMs: 24 * 60 * 60_000
}

export interface RelayOptions {
  readonly deriveSecret: DeriveSecret
  readonly retry?: RetryPolicy
  readonly timeoutMs?: number
  /** More than the timeout, or a slow send would be sent twice. */
  readonly leaseMs?: number
  readonly claimLimit?: number
  readonly concurrency?: number
  /** Over every relay: a hanging receiver holds no more slots than this. */
  readonly perSubscription?: number
  readonly deriveSpan?: number
  readonly relayId?: string
}

export interface RelayLogLine {
  readonly level: "warn" | "error"
  readonly msg: "webhook delivery failed" | "webhook subscription disabled" | "webhook relay round failed"
  readonly organizationId?: string
  readonly webhookId?: string
  readonly eventId?: string
  readonly outcome?: AttemptOutcome
  readonly kind?: string
}

export const relayLog = ({ level, msg, ...fields }: RelayLogLine): Effect.Effect<void> =>
  Effect.annotateLogs(level === "warn" ? Effect.logWarning(msg) : Effect.logError(msg), fields)

export const WEBHOOK_USER_AGENT = "users-api-webhooks/1"

export { RESPONSE_EXCERPT_LENGTH }

export const settings = (options: RelayOptions) => ({
  retry: options.retry ?? DEFAULT_RETRY_POLICY,
  timeoutMs: options.timeoutMs ?? 10_000,
  leaseMs: options.leaseMs ?? 60_000,
  claimLimit: options.claimLimit ?? 50,
  concurrency: options.concurrency ?? 16,
  perSubscription: options.perSubscription ?? 4,
  deriveSpan: options.deriveSpan ?? 1_000
})

export const iso = (millis: number) => new Date(millis).toISOString()

/** Masked as the API shows it; the chain position lets a receiver check it against the feed and the audit head. */
export const webhookPayload = ({ event, fingerprints, hash, prevHash, redacted, sequence }: ChainedEvent): string =>
  JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt,
    data: event,
    chain: { sequence, aggregateId: event.aggregateId, version: event.version, prevHash, hash, redacted },
    fingerprints
  })

/** Exponential from the base, capped. Its state is the attempt count, kept in the delivery's row. */
const backoff = (policy: RetryPolicy) =>
  Schedule.exponential(Duration.millis(policy.baseDelayMs)).pipe(
    Schedule.modifyDelay((delay) => Duration.millis(Math.min(policy.maxDelayMs, Duration.toMillis(delay)))),
    Schedule.delays
  )

export const afterFailedAttempt = (
  policy: RetryPolicy,
  attempts: number,
  windowStartedAt: string,
  now: number
): Effect.Effect<AttemptRecord["next"]> => {
  if (attempts >= policy.maxAttempts) return Effect.succeed({ status: "failed" })
  return Effect.map(Schedule.run(backoff(policy), now, Array.from({ length: attempts + 1 })), (delays) => {
    const next = now + Math.floor((policy.random ?? Math.random)() * Duration.toMillis(Chunk.unsafeLast(delays)))
    return next > Date.parse(windowStartedAt) + policy.windowMs
      ? { status: "failed" }
      : { status: "pending", nextAttemptAt: iso(next) }
  })
}

const outcomeOf = (result: TransportResult): AttemptOutcome =>
  result.kind === "response"
    ? result.status >= 200 && result.status < 300 ? "delivered" : result.status === 410 ? "gone" : "http-error"
    : result.kind

export const outgoingWebhook = (
  deriveSecret: DeriveSecret,
  claimed: ClaimedDelivery,
  now: number,
  timeoutMs: number
) =>
  Effect.map(
    Effect.promise(() =>
      webhookHeaders(
        signingSecrets(deriveSecret, claimed.subscription, iso(now)),
        claimed.event.event.id,
        Math.floor(now / 1000),
        webhookPayload(claimed.event)
      )
    ),
    (signed) => ({
      url: claimed.subscription.url,
      headers: { "content-type": "application/json", "user-agent": WEBHOOK_USER_AGENT, ...signed },
      body: webhookPayload(claimed.event),
      timeoutMs
    })
  )

const TIMED_OUT: TransportResult = { kind: "timeout" }

export const deliver = (options: RelayOptions, claimed: ClaimedDelivery) =>
  Effect.gen(function*() {
    const { retry, timeoutMs } = settings(options)
    const [store, transport] = [yield* WebhookStore, yield* WebhookTransport]
    const started = yield* Clock.currentTimeMillis
    const webhook = yield* outgoingWebhook(options.deriveSecret, claimed, started, timeoutMs)
    // Whatever the transport, an attempt never outlasts the time-out.
    const result = yield* Effect.timeoutTo(transport.send(webhook), {
      duration: Duration.millis(timeoutMs),
      onSuccess: (answer) => answer,
      onTimeout: () => TIMED_OUT
    })
    const ended = yield* Clock.currentTimeMillis
    const outcome = outcomeOf(result)
    const attempts = claimed.attempts + 1
    const excerpt = result.kind === "response"
      ? result.excerpt
      : result.kind === "network-error"
      ? result.detail
      : null
    const next: AttemptRecord["next"] = outcome === "delivered"
      ? { status: "delivered" }
      : outcome === "gone"
      ? { status: "failed" }
      : yield* afterFailedAttempt(retry, attempts, claimed.windowStartedAt, ended)
    const record: AttemptRecord = {
      attempt: {
        attemptedAt: iso(started),
        durationMs: ended - started,
        outcome,
        httpStatus: result.kind === "response" ? result.status : null,
        responseExcerpt: excerpt === null ? null : excerpt.slice(0, RESPONSE_EXCERPT_LENGTH)
      },
      next,
      ...(outcome === "gone" ? { disable: "receiver-gone" } : {})
    }
    yield* store.record(claimed, record)
    const about = {
      organizationId: claimed.organizationId,
      webhookId: claimed.subscription.id,
      eventId: claimed.event.event.id,
      outcome
    }
    if (outcome === "gone") yield* relayLog({ level: "warn", msg: "webhook subscription disabled", ...about })
    else if (record.next.status === "failed") {
      yield* relayLog({ level: "warn", msg: "webhook delivery failed", ...about })
    }
  })
