/**
 * The webhook relay: outbox (events table) to receivers, at least once, each user's events in version order; a turn
 * never waits for a send, so a slow receiver delays only itself. docs/DECISIONS.md, "Webhook delivery".
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

/** One round, its sends awaited: for tools and tests. */
export const relayRound = (options: RelayOptions) =>
  Effect.gen(function*() {
    const { claimLimit, concurrency } = settings(options)
    const claimed = yield* claimDue(options, claimLimit)
    yield* Effect.forEach(claimed, (delivery) => deliver(options, delivery), { concurrency, discard: true })
    return claimed.length
  })

/** Failed deliveries are kept longer, to be seen and re-sent. */
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
  readonly wake: () => void
  readonly latch: Effect.Latch
}

export const makeWakeSignal = (): WakeSignal => {
  const latch = Effect.unsafeMakeLatch(false)
  return { latch, wake: () => latch.unsafeOpen() }
}

/** A send that has recorded its attempt opens `signal`, so the relay claims again at once. */
const makeSlots = (options: RelayOptions, signal: WakeSignal) =>
  Effect.gen(function*() {
    const sends = yield* FiberSet.make<void, never>()
    const inFlight = yield* Ref.make(0)
    const { claimLimit, concurrency } = settings(options)
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

/** A delivery due before `claimedAt` is held back: a send's end wakes us. */
const dueAfter = (claimedAt: number) =>
  Effect.map(
    Effect.orElseSucceed(Effect.flatMap(WebhookStore, (store) => store.nextDue), () => undefined),
    (due) => due === undefined || Date.parse(due) <= claimedAt ? undefined : Date.parse(due)
  )

const waitFor = (signal: WakeSignal, millis: number) =>
  Effect.raceFirst(signal.latch.await, Effect.sleep(Duration.millis(Math.max(0, millis))))

/** Bun and Deno. Polling is the safety net for another process's commit or a wake lost to a crash. */
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

export const WebhookRelayLive = (options: Parameters<typeof relayForever>[0]) =>
  Layer.scopedDiscard(Effect.forkScoped(relayForever(options)))

/**
 * The Worker's relay: no commit wakes it, so it polls while sends are in flight; it answers when the next retry is
 * due, for the caller to schedule a wake-up. A failed claim fails, so that the queue retries its message.
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
