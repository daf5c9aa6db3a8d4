// Each statement on its organization's store; all-or-nothing units through the StoreDriver's `write`
// (docs/DECISIONS.md, "Webhook delivery"). Its SQL is in webhook-sql.ts.
import type { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { StoreUnavailable } from "../../services/errors.js"
import { type Delivery, type DeliveryAttempt, WebhookStore } from "../../services/webhooks.js"
import { unavailable } from "./driver.js"
import type { Statement } from "./rows.js"
import { type Shard, Shards } from "./shards.js"
import {
  ADVANCE_CURSORS,
  type AttemptRow,
  ATTEMPTS_SHOWN,
  CLAIM,
  type ClaimedRow,
  type DeliveryRow,
  DERIVE_DELIVERIES,
  DISABLE,
  FINISH_ATTEMPT,
  INSERT_ATTEMPT,
  INSERT_SUBSCRIPTION,
  OF_SUBSCRIPTION,
  type Param,
  RESEND,
  ROTATE,
  SELECT_ATTEMPTS,
  SELECT_CLAIMED,
  SELECT_DELIVERIES,
  SELECT_DELIVERIES_WITH_STATUS,
  SELECT_DELIVERY,
  SELECT_DERIVE_RANGE,
  SELECT_DERIVE_UP_TO,
  SELECT_HAS_ACTIVE,
  SELECT_NEXT_DUE,
  SELECT_SUBSCRIPTION,
  SELECT_SUBSCRIPTIONS,
  type SubscriptionRow,
  SWEEP_ATTEMPTS,
  SWEEP_DELIVERIES,
  toAttempt,
  toClaimed,
  toDelivery,
  toSubscription
} from "./webhook-sql.js"

const on = <A extends object>(sql: SqlClient.SqlClient, text: string, params: ReadonlyArray<Param>) =>
  sql.unsafe<A>(text, params as Array<Param>).pipe(Effect.mapError(unavailable))

/** Any refusal is the store's failure: none of these races a user's write. */
const atomically = (shard: Shard, statements: ReadonlyArray<Statement>) =>
  Effect.mapError(
    shard.driver.write(statements, "webhooks"),
    (error) => error instanceof StoreUnavailable ? error : new StoreUnavailable({ cause: error })
  )

export const SqlWebhookStore = Layer.effect(
  WebhookStore,
  Effect.map(Shards, (shards): WebhookStore["Type"] => {
    const query = <A extends object>(text: string, organizationId: string, params: ReadonlyArray<Param>) =>
      Effect.flatMap(shards.of(organizationId), ({ sql }) => on<A>(sql, text, params))

    const withAttempts = (subscriptionId: string, organizationId: string, rows: ReadonlyArray<DeliveryRow>) => {
      if (rows.length === 0) return Effect.succeed([] as ReadonlyArray<Delivery>)
      const sequences = rows.map((r) => Number(r.event_sequence))
      return Effect.map(
        query<AttemptRow>(SELECT_ATTEMPTS, organizationId, [
          subscriptionId,
          Math.min(...sequences),
          Math.max(...sequences),
          ATTEMPTS_SHOWN * rows.length
        ]),
        (attempts) => {
          const bySequence = new Map<number, Array<DeliveryAttempt>>()
          for (const row of attempts) {
            const list = bySequence.get(Number(row.event_sequence)) ?? []
            if (list.length < ATTEMPTS_SHOWN) list.push(toAttempt(row))
            bySequence.set(Number(row.event_sequence), list)
          }
          return rows.map((row) => toDelivery(row, (bySequence.get(Number(row.event_sequence)) ?? []).reverse()))
        }
      )
    }

    // An organization moved away leaves its rows here until forget-moved-org; they are not sent from here.
    const isHome = (shard: Shard, organizationId: string) =>
      Effect.orElseSucceed(Effect.map(shards.of(organizationId), (home) => home === shard), () => false)

    const deriveOn = (shard: Shard, now: string, span: number) =>
      Effect.gen(function*() {
        const [range] = yield* on<{ last: number; low: number | null }>(shard.sql, SELECT_DERIVE_RANGE, [])
        if (range === undefined || range.low === null) return 0
        const low = Number(range.low)
        if (Number(range.last) <= low) return 0
        const [next] = yield* on<{ up_to: number | null; events: number }>(shard.sql, SELECT_DERIVE_UP_TO, [low, span])
        if (next === undefined || next.up_to === null) return 0
        const upTo = Number(next.up_to)
        yield* atomically(shard, [
          { sql: DERIVE_DELIVERIES, params: [now, now, now, upTo] },
          { sql: ADVANCE_CURSORS, params: [upTo, upTo] }
        ])
        return Number(next.events)
      })

    const claimOn = (shard: Shard, options: Parameters<WebhookStore["Type"]["claim"]>[0]) =>
      Effect.gen(function*() {
        const taken = yield* on(shard.sql, CLAIM, [
          options.owner,
          options.leaseUntil,
          options.now,
          options.now,
          options.now,
          options.perSubscription,
          options.limit
        ])
        if (taken.length === 0) return []
        const rows = yield* on<ClaimedRow>(shard.sql, SELECT_CLAIMED, [options.owner])
        return yield* Effect.filter(
          rows.map((row) => toClaimed(row, options.owner)),
          (claimed) => isHome(shard, claimed.organizationId)
        )
      })

    return {
      create: (subscription) =>
        Effect.flatMap(
          query<SubscriptionRow>(INSERT_SUBSCRIPTION, subscription.organizationId, [
            subscription.organizationId,
            subscription.id,
            subscription.url,
            JSON.stringify(subscription.eventTypes),
            subscription.createdAt
          ]),
          (rows) =>
            rows[0] === undefined
              ? Effect.fail(new StoreUnavailable({ cause: "the subscription was not written" }))
              : Effect.succeed(toSubscription(rows[0]))
        ),
      list: (organizationId) =>
        Effect.map(
          query<SubscriptionRow>(SELECT_SUBSCRIPTIONS, organizationId, [organizationId]),
          (rows) => rows.map(toSubscription)
        ),
      find: (organizationId, id) =>
        Effect.map(
          query<SubscriptionRow>(SELECT_SUBSCRIPTION, organizationId, [organizationId, id]),
          (rows) => rows[0] === undefined ? undefined : toSubscription(rows[0])
        ),
      remove: (organizationId, id) =>
        Effect.gen(function*() {
          const shard = yield* shards.of(organizationId)
          const [found] = yield* on(shard.sql, SELECT_SUBSCRIPTION, [organizationId, id])
          if (found === undefined) return false
          yield* atomically(shard, [
            { sql: `DELETE FROM webhook_attempts WHERE ${OF_SUBSCRIPTION}`, params: [organizationId, id] },
            { sql: `DELETE FROM webhook_deliveries WHERE ${OF_SUBSCRIPTION}`, params: [organizationId, id] },
            {
              sql: "DELETE FROM webhook_subscriptions WHERE organization_id = ? AND id = ?",
              params: [organizationId, id]
            }
          ])
          return true
        }),
      rotate: (organizationId, id, now, previousUntil) =>
        Effect.map(
          query<SubscriptionRow>(ROTATE, organizationId, [
            now,
            previousUntil,
            organizationId,
            id
          ]),
          (rows) => rows[0] === undefined ? undefined : toSubscription(rows[0])
        ),
      deliveries: (organizationId, subscriptionId, { afterSequence, limit, status }) =>
        Effect.flatMap(
          status === undefined
            ? query<DeliveryRow>(SELECT_DELIVERIES, organizationId, [
              organizationId,
              subscriptionId,
              afterSequence,
              limit
            ])
            : query<DeliveryRow>(SELECT_DELIVERIES_WITH_STATUS, organizationId, [
              organizationId,
              subscriptionId,
              status,
              afterSequence,
              limit
            ]),
          (rows) => withAttempts(subscriptionId, organizationId, rows)
        ),
      delivery: (organizationId, subscriptionId, eventId) =>
        Effect.flatMap(
          query<DeliveryRow>(SELECT_DELIVERY, organizationId, [organizationId, subscriptionId, eventId]),
          (rows) => Effect.map(withAttempts(subscriptionId, organizationId, rows), (found) => found[0])
        ),
      resend: (organizationId, subscriptionId, eventId, now) =>
        Effect.asVoid(query(RESEND, organizationId, [now, now, organizationId, subscriptionId, eventId])),

      derive: (now, span) =>
        Effect.map(
          Effect.forEach(shards.all, (shard) => deriveOn(shard, now, span)),
          (counts) => counts.reduce((a, b) => a + b, 0)
        ),
      claim: (options) =>
        Effect.map(Effect.forEach(shards.all, (shard) => claimOn(shard, options)), (perShard) => perShard.flat()),
      record: (claimed, { attempt, disable, next }) =>
        Effect.flatMap(shards.of(claimed.organizationId), (shard) => {
          const key = [claimed.subscription.id, claimed.eventSequence] as const
          const statements: Array<Statement> = [
            {
              sql: INSERT_ATTEMPT,
              params: [
                ...key,
                attempt.attemptedAt,
                attempt.durationMs,
                attempt.outcome,
                attempt.httpStatus,
                attempt.responseExcerpt,
                ...key
              ]
            },
            {
              sql: FINISH_ATTEMPT,
              params: [
                next.status,
                next.status === "pending" ? next.nextAttemptAt : attempt.attemptedAt,
                next.status === "pending" ? null : attempt.attemptedAt,
                ...key,
                claimed.leaseOwner
              ]
            }
          ]
          if (disable !== undefined) {
            statements.push({ sql: DISABLE, params: [disable, attempt.attemptedAt, claimed.subscription.id] })
          }
          return atomically(shard, statements)
        }),
      nextDue: Effect.map(
        Effect.forEach(shards.all, (shard) => on<{ due: string | null }>(shard.sql, SELECT_NEXT_DUE, [])),
        (perShard) => {
          const due = perShard.flatMap((rows) => (rows[0]?.due == null ? [] : [rows[0].due])).sort()
          return due[0]
        }
      ),
      sweep: (deliveredBefore, failedBefore) =>
        Effect.forEach(
          shards.all,
          (shard) =>
            Effect.zipRight(
              on(shard.sql, SWEEP_ATTEMPTS, [deliveredBefore, failedBefore]),
              on(shard.sql, SWEEP_DELIVERIES, [deliveredBefore, failedBefore])
            ),
          { discard: true }
        ),
      hasActive: (organizationId) =>
        Effect.map(query(SELECT_HAS_ACTIVE, organizationId, [organizationId]), (rows) => rows.length > 0)
    }
  })
)
