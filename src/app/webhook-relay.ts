/**
 * The webhook relay: from the outbox (the events table) to the receivers, at least once, each user's events to a
 * subscription in version order. A round (`relayRound`):
 *
 * 1. derive: each active subscription's events after its cursor become pending deliveries, and the cursor moves past
 *    them, in one atomic unit per store (nothing is lost between a commit and its webhook: the event is durable, and
 *    the cursor only moves with the rows);
 * 2. claim: the lease of up to `claimLimit` due deliveries, in one UPDATE … RETURNING per store, skipping a delivery
 *    while an earlier one of the same user to the same subscription is pending;
 * 3. send each, signed as Standard Webhooks specifies (webhook-id = the event id), and record the attempt: 2xx is
 *    delivered, 410 disables the subscription, anything else (another status, a timeout, a reset) is retried with
 *    exponential back-off and full jitter for about a day, then the delivery is failed (and can be re-sent).
 *
 * The Bun and Deno servers run `relayForever` in a fiber of their own, woken by every commit and polling as a safety
 * net; the Worker runs `relayUntilIdle` from its queue consumer and its cron trigger. What a crash can cost: a relay
 * that dies after sending but before recording leaves its lease to expire (`leaseMs`), after which the delivery is
 * claimed and sent again: at most one extra attempt per lease expiry (docs/DECISIONS.md, "Webhooks and the feed").
 */
import { Clock, Duration, Effect } from "effect"
import {
  type AttemptOutcome,
  type AttemptRecord,
  type ChainedEvent,
  type ClaimedDelivery,
  type TransportResult,
  WebhookStore,
  WebhookTransport
} from "../services/webhooks.js"
import { webhookHeaders } from "../webhooks/signature.js"
import { uuidv7At } from "./context.js"
import { type DeriveSecret, signingSecrets } from "./webhook-secrets.js"

/**
 * When to try again: after the n-th failed attempt, a random time between 0 and min(maxDelayMs, baseDelayMs × 2^n)
 * ("full jitter"), so receivers that fail together are not retried together; failed after `maxAttempts` attempts, or
 * when the next one would fall later than `windowMs` after the delivery was created (or re-sent).
 */
export interface RetryPolicy {
  readonly maxAttempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly windowMs: number
  /** In [0, 1); Math.random unless a test fixes it. */
  readonly random?: () => number
}

/** Ten attempts over about a day: 10, 20, 40 … minutes up to 12 h (halved on average by the jitter), within 24 h. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 5 * 60_000,
  maxDelayMs: 12 * 60 * 60_000,
  windowMs: 24 * 60 * 60_000
}

export interface RelayOptions {
  readonly deriveSecret: DeriveSecret
  readonly retry?: RetryPolicy
  /** How long a receiver has to answer (default 10 s); longer is a timeout, retried. */
  readonly timeoutMs?: number
  /** How long a claim holds a delivery (default 60 s): more than the timeout, or a slow send would be sent twice. */
  readonly leaseMs?: number
  /** How many deliveries one round claims (default 50), and sends at once (default 16). */
  readonly claimLimit?: number
  readonly concurrency?: number
  /** How far past the lowest cursor one round derives, in events (default 1000). */
  readonly deriveSpan?: number
  /** Who this relay is, in the lease (default a UUID v7): for the operator's eye only. */
  readonly relayId?: string
  /** Where a delivery that failed for good, or a subscription disabled, is reported (default: stderr as JSON). */
  readonly log?: (line: RelayLogLine) => void
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

const consoleLog = (line: RelayLogLine) => console.error(JSON.stringify(line))

/** Who is calling, in every request to a receiver. */
export const WEBHOOK_USER_AGENT = "users-api-webhooks/1"

/** At most this much of a receiver's answer is kept with the attempt. */
export const RESPONSE_EXCERPT_LENGTH = 256

const settings = (options: RelayOptions) => ({
  retry: options.retry ?? DEFAULT_RETRY_POLICY,
  timeoutMs: options.timeoutMs ?? 10_000,
  leaseMs: options.leaseMs ?? 60_000,
  claimLimit: options.claimLimit ?? 50,
  concurrency: options.concurrency ?? 16,
  deriveSpan: options.deriveSpan ?? 1_000,
  log: options.log ?? consoleLog
})

const iso = (millis: number) => new Date(millis).toISOString()

/**
 * The body of a webhook (Standard Webhooks' recommended envelope): the event's type, when it happened, the event
 * exactly as the API shows it (masked: the users row is never read here), its chain position, so a receiver can
 * check it against the organization's feed and audit head, and while the user is not erased its fingerprints.
 */
export const webhookPayload = ({ event, fingerprints, hash, prevHash, redacted, sequence }: ChainedEvent): string =>
  JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt,
    data: event,
    chain: { sequence, aggregateId: event.aggregateId, version: event.version, prevHash, hash, redacted },
    fingerprints
  })

/** Where a delivery goes after an attempt that did not deliver it. */
export const afterFailedAttempt = (
  policy: RetryPolicy,
  attempts: number,
  windowStartedAt: string,
  now: number
): AttemptRecord["next"] => {
  if (attempts >= policy.maxAttempts) return { status: "failed" }
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempts)
  const next = now + Math.floor((policy.random ?? Math.random)() * cap)
  return next > Date.parse(windowStartedAt) + policy.windowMs
    ? { status: "failed" }
    : { status: "pending", nextAttemptAt: iso(next) }
}

const outcomeOf = (result: TransportResult): AttemptOutcome =>
  result.kind === "response"
    ? result.status >= 200 && result.status < 300 ? "delivered" : result.status === 410 ? "gone" : "http-error"
    : result.kind

/** The signed request for a claimed delivery, as sent: nothing but the envelope and the Standard Webhooks headers. */
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

const deliver = (options: RelayOptions, claimed: ClaimedDelivery) =>
  Effect.gen(function*() {
    const { log, retry, timeoutMs } = settings(options)
    const [store, transport] = [yield* WebhookStore, yield* WebhookTransport]
    const started = yield* Clock.currentTimeMillis
    const webhook = yield* outgoingWebhook(options.deriveSecret, claimed, started, timeoutMs)
    const result = yield* transport.send(webhook)
    const ended = yield* Clock.currentTimeMillis
    const outcome = outcomeOf(result)
    const attempts = claimed.attempts + 1
    const excerpt = result.kind === "response"
      ? result.excerpt
      : result.kind === "network-error"
      ? result.detail
      : null
    const record: AttemptRecord = {
      attempt: {
        attemptedAt: iso(started),
        durationMs: ended - started,
        outcome,
        httpStatus: result.kind === "response" ? result.status : null,
        responseExcerpt: excerpt === null ? null : excerpt.slice(0, RESPONSE_EXCERPT_LENGTH)
      },
      next: outcome === "delivered"
        ? { status: "delivered" }
        : outcome === "gone"
        ? { status: "failed" }
        : afterFailedAttempt(retry, attempts, claimed.windowStartedAt, ended),
      ...(outcome === "gone" ? { disable: "receiver-gone" } : {})
    }
    yield* store.record(claimed, record)
    const about = {
      organizationId: claimed.organizationId,
      webhookId: claimed.subscription.id,
      eventId: claimed.event.event.id,
      outcome
    }
    if (outcome === "gone") log({ level: "warn", msg: "webhook subscription disabled", ...about })
    else if (record.next.status === "failed") log({ level: "warn", msg: "webhook delivery failed", ...about })
  })

/** One round: derive, claim, send and record. Answers how many deliveries it sent. */
export const relayRound = (options: RelayOptions) =>
  Effect.gen(function*() {
    const { claimLimit, concurrency, deriveSpan, leaseMs } = settings(options)
    const store = yield* WebhookStore
    const now = yield* Clock.currentTimeMillis
    yield* store.derive(iso(now), deriveSpan)
    // A token of this claim alone: what it records is dropped should another relay have taken the lease over since.
    const owner = `${options.relayId ?? "relay"}:${uuidv7At(now)}`
    const claimed = yield* store.claim({ owner, now: iso(now), leaseUntil: iso(now + leaseMs), limit: claimLimit })
    yield* Effect.forEach(claimed, (delivery) => deliver(options, delivery), { concurrency, discard: true })
    return claimed.length
  })

/** Completed deliveries are kept this long (failed ones longer, to be seen and re-sent), then swept. */
export const DELIVERED_RETENTION_MS = 7 * 24 * 60 * 60_000
export const FAILED_RETENTION_MS = 30 * 24 * 60 * 60_000

const sweep = Effect.flatMap(
  WebhookStore,
  (store) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => store.sweep(iso(now - DELIVERED_RETENTION_MS), iso(now - FAILED_RETENTION_MS))
    )
)

const roundFailed = (options: RelayOptions) => (error: { readonly _tag: string }) =>
  Effect.sync(() => settings(options).log({ level: "error", msg: "webhook relay round failed", kind: error._tag }))

export interface WakeSignal {
  /** Called after a commit (src/services/webhooks.ts RelaySignal): the relay runs a round at once. */
  readonly wake: () => void
  readonly latch: Effect.Latch
}

export const makeWakeSignal = (): WakeSignal => {
  const latch = Effect.unsafeMakeLatch(false)
  return { latch, wake: () => latch.unsafeOpen() }
}

/**
 * The Bun and Deno servers' relay, for ever: rounds back to back while they find work, else a wait until a commit
 * wakes it, the next retry is due, or `pollIntervalMs` passes (the safety net: a commit of another process on the same
 * file, a wake lost to a crash). A failed round is logged and the next one tries again.
 */
export const relayForever = (
  options: RelayOptions & { readonly pollIntervalMs?: number; readonly signal: WakeSignal }
) => {
  const poll = options.pollIntervalMs ?? 5_000
  let rounds = 0
  const step = Effect.gen(function*() {
    // Closed before the round reads: a commit after this reopens it, so the wait below cannot miss it.
    yield* options.signal.latch.close
    const sent = yield* relayRound(options).pipe(Effect.catchAll((error) => Effect.as(roundFailed(options)(error), 0)))
    if (++rounds % 1_000 === 1) yield* Effect.catchAll(sweep, roundFailed(options))
    if (sent > 0) return
    const now = yield* Clock.currentTimeMillis
    const due = yield* Effect.orElseSucceed(
      Effect.flatMap(WebhookStore, (store) => store.nextDue),
      () => undefined
    )
    const untilDue = due === undefined ? poll : Math.max(0, Date.parse(due) - now)
    yield* Effect.raceFirst(options.signal.latch.await, Effect.sleep(Duration.millis(Math.min(poll, untilDue))))
  })
  return Effect.forever(step)
}

/**
 * The Worker's relay: rounds while they find work, for at most `budgetMs`; answers when the next retry is due (if
 * any), for the caller to schedule a wake-up then. A failed round fails, so that the queue retries its message.
 */
export const relayUntilIdle = (options: RelayOptions & { readonly budgetMs?: number }) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const budget = options.budgetMs ?? 20_000
    for (;;) {
      const sent = yield* relayRound(options)
      if (sent === 0 || (yield* Clock.currentTimeMillis) - started > budget) break
    }
    yield* Effect.catchAll(sweep, roundFailed(options))
    return yield* Effect.flatMap(WebhookStore, (store) => store.nextDue)
  })
