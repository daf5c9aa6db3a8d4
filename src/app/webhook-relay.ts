/**
 * The webhook relay: from the outbox (the events table) to the receivers, at least once, each user's events to a
 * subscription in version order. Each turn of a relay:
 *
 * 1. derive: each active subscription's events after its cursor become pending deliveries, and the cursor moves past
 *    them, in one atomic unit per store (nothing is lost between a commit and its webhook: the event is durable, and
 *    the cursor only moves with the rows);
 * 2. claim: the lease of as many due deliveries as the relay has free send slots, in one UPDATE … RETURNING per
 *    store, fairly (subscriptions and organizations take turns, at most `perSubscription` in flight each), skipping
 *    a delivery while an earlier one of the same user to the same subscription is pending;
 * 3. send each in a fiber of its own, under its own time-out, which records the attempt (src/app/webhook-delivery.ts)
 *    and wakes the relay: a turn never waits for a send, so a slow receiver delays nobody but itself.
 *
 * The Bun and Deno servers run `relayForever` as a layer (WebhookRelayLive), woken by every commit and polling as a
 * safety net; the Worker runs `relayUntilIdle` from its queue consumer and its cron trigger. What a crash can cost: a
 * relay that dies after sending but before recording leaves its lease to expire (`leaseMs`), after which the delivery
 * is claimed and sent again: at most one extra attempt per lease expiry (docs/DECISIONS.md, "Webhooks and the feed").
 */
import { Clock, Duration, Effect, FiberSet, Layer, Ref } from "effect"
import { WebhookStore } from "../services/webhooks.js"
import { uuidv7At } from "./context.js"
import { deliver, iso, relayLog, type RelayOptions, settings } from "./webhook-delivery.js"

export {
  afterFailedAttempt,
  DEFAULT_RETRY_POLICY,
  outgoingWebhook,
  relayLog,
  type RelayLogLine,
  type RelayOptions,
  RESPONSE_EXCERPT_LENGTH,
  type RetryPolicy,
  WEBHOOK_USER_AGENT,
  webhookPayload
} from "./webhook-delivery.js"

/** Derives, then leases up to `limit` due deliveries, the fairest first. */
const claimDue = (options: RelayOptions, limit: number) =>
  Effect.gen(function*() {
    const { deriveSpan, leaseMs, perSubscription } = settings(options)
    const store = yield* WebhookStore
    const now = yield* Clock.currentTimeMillis
    yield* store.derive(iso(now), deriveSpan)
    // A token of this claim alone: what it records is dropped should another relay have taken the lease over since.
    const owner = `${options.relayId ?? "relay"}:${uuidv7At(now)}`
    const leaseUntil = iso(now + leaseMs)
    return yield* store.claim({ owner, now: iso(now), leaseUntil, limit, perSubscription })
  })

/** One round, its sends awaited: for tools and tests. The relays below never wait for a send before claiming more. */
export const relayRound = (options: RelayOptions) =>
  Effect.gen(function*() {
    const { claimLimit, concurrency } = settings(options)
    const claimed = yield* claimDue(options, claimLimit)
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

const roundFailed = (error: { readonly _tag: string }) =>
  relayLog({ level: "error", msg: "webhook relay round failed", kind: error._tag })

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
 * A relay's send slots: every send is a fiber of `sends` (interrupted with the relay's scope), counted in `inFlight`
 * until it has recorded its attempt, then it opens `signal`, so the relay claims again at once.
 */
const makeSlots = (options: RelayOptions, signal: WakeSignal) =>
  Effect.gen(function*() {
    const sends = yield* FiberSet.make<void, never>()
    const inFlight = yield* Ref.make(0)
    const { claimLimit, concurrency } = settings(options)
    /** Claims as many as there are free slots and starts their sends; how many it claimed, and of how many free. */
    const turn = Effect.gen(function*() {
      // Closed before the claim reads: a commit or a send that ends after this reopens it, so no wake-up is missed.
      yield* signal.latch.close
      const free = Math.min(claimLimit, concurrency - (yield* Ref.get(inFlight)))
      const claimed = free > 0 ? yield* claimDue(options, free) : []
      for (const delivery of claimed) {
        yield* Ref.update(inFlight, (n) => n + 1)
        const send = deliver(options, delivery).pipe(
          Effect.catchAll(roundFailed),
          Effect.ensuring(Effect.zipRight(Ref.update(inFlight, (n) => n - 1), signal.latch.open))
        )
        yield* FiberSet.run(sends, send)
      }
      return { claimed: claimed.length, free }
    })
    return { turn, inFlight: Ref.get(inFlight), drained: FiberSet.awaitEmpty(sends) }
  })

/** When the next delivery is due, if later than `claimedAt` (an earlier one is held back: a send's end wakes us). */
const dueAfter = (claimedAt: number) =>
  Effect.map(
    Effect.orElseSucceed(Effect.flatMap(WebhookStore, (store) => store.nextDue), () => undefined),
    (due) => due === undefined || Date.parse(due) <= claimedAt ? undefined : Date.parse(due)
  )

const waitFor = (signal: WakeSignal, millis: number) =>
  Effect.raceFirst(signal.latch.await, Effect.sleep(Duration.millis(Math.max(0, millis))))

/**
 * The Bun and Deno servers' relay, for ever: a turn whenever a commit wakes it, a send ends, the next retry is due, or
 * `pollIntervalMs` passes (the safety net: a commit of another process on the same file, a wake lost to a crash). A
 * failed turn is logged and the next one tries again.
 */
export const relayForever = (
  options: RelayOptions & { readonly pollIntervalMs?: number; readonly signal: WakeSignal }
) =>
  Effect.scoped(Effect.gen(function*() {
    const poll = options.pollIntervalMs ?? 5_000
    const slots = yield* makeSlots(options, options.signal)
    let turns = 0
    const step = Effect.gen(function*() {
      const claimedAt = yield* Clock.currentTimeMillis
      const { claimed, free } = yield* slots.turn.pipe(
        Effect.catchAll((error) => Effect.as(roundFailed(error), { claimed: 0, free: 0 }))
      )
      if (++turns % 1_000 === 1) yield* Effect.catchAll(sweep, roundFailed)
      // Slots all taken: the next send to end wakes us. Else everything claimable was claimed: wait for what is due.
      const due = claimed < free ? yield* dueAfter(claimedAt) : undefined
      const now = yield* Clock.currentTimeMillis
      yield* waitFor(options.signal, due === undefined ? poll : Math.min(poll, due - now))
    })
    return yield* Effect.forever(step)
  }))

/** relayForever as a layer: its fiber starts with the layer's scope (the server's) and ends when that closes. */
export const WebhookRelayLive = (options: Parameters<typeof relayForever>[0]) =>
  Layer.scopedDiscard(Effect.forkScoped(relayForever(options)))

/**
 * The Worker's relay: turns while there is work, for at most `budgetMs`, polling every `busyPollMs` for new events
 * while sends are in flight (no commit wakes it); then it waits for its sends and answers when the next retry is due
 * (if any), for the caller to schedule a wake-up then. A failed claim fails, so that the queue retries its message.
 */
export const relayUntilIdle = (
  options: RelayOptions & { readonly budgetMs?: number; readonly busyPollMs?: number }
) =>
  Effect.scoped(Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const budget = options.budgetMs ?? 20_000
    const signal = makeWakeSignal()
    const slots = yield* makeSlots(options, signal)
    const work = Effect.gen(function*() {
      for (;;) {
        const { claimed } = yield* slots.turn
        if (claimed === 0 && (yield* slots.inFlight) === 0) return
        if ((yield* Clock.currentTimeMillis) - started > budget) return
        yield* waitFor(signal, options.busyPollMs ?? 1_000)
      }
    })
    yield* Effect.ensuring(work, slots.drained)
    yield* Effect.catchAll(sweep, roundFailed)
    return yield* Effect.flatMap(WebhookStore, (store) => store.nextDue)
  }))
