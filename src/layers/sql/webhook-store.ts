// Each statement on its organization's store; all-or-nothing units through the StoreDriver's `write`
// (docs/DECISIONS.md, "Webhook delivery").
import type { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { StoreUnavailable } from "../../services/errors.js"
import {
  type ClaimedDelivery,
  type Delivery,
  type DeliveryAttempt,
  WebhookStore,
  type WebhookSubscription
} from "../../services/webhooks.js"
import { unavailable } from "./driver.js"
import { openingColumns } from "./fingerprint-rows.js"
import { type EventRow, toChainedEvent } from "./rows.js"
import type { Statement } from "./rows.js"
import { type Shard, Shards } from "./shards.js"

type Param = string | number | null

interface SubscriptionRow {
  readonly organization_id: string
  readonly id: string
  readonly url: string
  readonly event_types: string
  readonly secret_generation: number
  readonly previous_generation: number | null
  readonly previous_until: string | null
  readonly status: "active" | "disabled"
  readonly disabled_reason: string | null
  readonly disabled_at: string | null
  readonly created_at: string
}

interface DeliveryRow {
  readonly subscription_id: string
  readonly event_sequence: number
  readonly event_id: string
  readonly event_type: string
  readonly aggregate_id: string
  readonly version: number
  readonly status: Delivery["status"]
  readonly next_attempt_at: string
  readonly created_at: string
  readonly completed_at: string | null
}

interface AttemptRow {
  readonly subscription_id: string
  readonly event_sequence: number
  readonly attempted_at: string
  readonly duration_ms: number
  readonly outcome: DeliveryAttempt["outcome"]
  readonly http_status: number | null
  readonly response_excerpt: string | null
}

type ClaimedRow = EventRow & {
  readonly subscription_id: string
  readonly event_sequence: number
  readonly attempts: number
  readonly window_started_at: string
  readonly url: string
  readonly secret_generation: number
  readonly previous_generation: number | null
  readonly previous_until: string | null
}

const SUBSCRIPTION_COLUMNS = "organization_id, id, url, event_types, secret_generation, previous_generation, " +
  "previous_until, status, disabled_reason, disabled_at, created_at"

// The cursor is the store's last event number at creation: the subscription sees what is written from then on.
const INSERT_SUBSCRIPTION = "INSERT INTO webhook_subscriptions (organization_id, id, url, event_types, " +
  "secret_generation, previous_generation, previous_until, status, disabled_reason, disabled_at, cursor, created_at) " +
  "VALUES (?, ?, ?, ?, 1, NULL, NULL, 'active', NULL, NULL, (SELECT COALESCE(max(sequence), 0) FROM events), ?) " +
  `RETURNING ${SUBSCRIPTION_COLUMNS}`

const SELECT_SUBSCRIPTIONS = `SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE organization_id = ? ` +
  "ORDER BY created_at, id"

const SELECT_SUBSCRIPTION = `SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ` +
  "WHERE organization_id = ? AND id = ?"

const OF_SUBSCRIPTION = "subscription_id IN (SELECT id FROM webhook_subscriptions WHERE organization_id = ? AND id = ?)"

/** Older generations still signing, so a retried rotation never drops the secret receivers have. */
export const MAX_PREVIOUS_GENERATIONS = 4

const ROTATE = "UPDATE webhook_subscriptions SET " +
  "previous_generation = CASE WHEN previous_until IS NOT NULL AND previous_until > ? " +
  `THEN max(previous_generation, secret_generation - ${MAX_PREVIOUS_GENERATIONS - 1}) ` +
  "ELSE secret_generation END, " +
  "secret_generation = secret_generation + 1, previous_until = ? " +
  `WHERE organization_id = ? AND id = ? RETURNING ${SUBSCRIPTION_COLUMNS}`

const DELIVERY_COLUMNS = "subscription_id, event_sequence, event_id, event_type, aggregate_id, version, status, " +
  "next_attempt_at, created_at, completed_at"

const SELECT_DELIVERIES = `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ` +
  "WHERE organization_id = ? AND subscription_id = ? AND event_sequence > ? ORDER BY event_sequence LIMIT ?"

const SELECT_DELIVERIES_WITH_STATUS = `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ` +
  "WHERE organization_id = ? AND subscription_id = ? AND status = ? AND event_sequence > ? " +
  "ORDER BY event_sequence LIMIT ?"

const SELECT_DELIVERY = `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ` +
  "WHERE organization_id = ? AND subscription_id = ? AND event_id = ?"

/** Attempts shown per delivery; all are kept until the delivery is swept. */
const ATTEMPTS_SHOWN = 50

const SELECT_ATTEMPTS = "SELECT subscription_id, event_sequence, attempted_at, duration_ms, outcome, http_status, " +
  "response_excerpt FROM webhook_attempts WHERE subscription_id = ? AND event_sequence >= ? AND event_sequence <= ? " +
  "ORDER BY id DESC LIMIT ?"

const RESEND = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, " +
  "window_started_at = ?, completed_at = NULL, lease_owner = NULL, lease_until = NULL " +
  "WHERE organization_id = ? AND subscription_id = ? AND event_id = ? AND status <> 'pending'"

const SELECT_DERIVE_RANGE = "SELECT (SELECT COALESCE(max(sequence), 0) FROM events) AS last, " +
  "(SELECT min(cursor) FROM webhook_subscriptions WHERE status = 'active') AS low"

// A round derives the next `span` events, not numbers: a shard numbers from its own range and a moved-in organization
// brings lower numbers, so counting numbers would crawl through the gap.
const SELECT_DERIVE_UP_TO = "SELECT max(sequence) AS up_to, count(*) AS events FROM " +
  "(SELECT sequence FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?)"

// Keyed by (subscription, event): two relays deriving the same events add nothing. The cursor is the store's row id;
// a delivery names the organization's event number.
const DERIVE_DELIVERIES = "INSERT OR IGNORE INTO webhook_deliveries (organization_id, subscription_id, " +
  "event_sequence, event_id, event_type, aggregate_id, version, status, attempts, next_attempt_at, " +
  "window_started_at, created_at) " +
  "SELECT s.organization_id, s.id, e.organization_sequence, e.event_id, e.type, e.aggregate_id, e.version, 'pending', 0, ?, ?, ? " +
  "FROM webhook_subscriptions s JOIN events e ON e.organization_id = s.organization_id " +
  "AND e.sequence > s.cursor AND e.sequence <= ? " +
  "WHERE s.status = 'active' AND EXISTS (SELECT 1 FROM json_each(s.event_types) t WHERE t.value = e.type)"

const ADVANCE_CURSORS = "UPDATE webhook_subscriptions SET cursor = ? WHERE status = 'active' AND cursor < ?"

// A user's events go out in version order: none while an earlier one to the same subscription is pending.
const FIRST_OF_USER = "NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.subscription_id = d.subscription_id " +
  "AND p.aggregate_id = d.aggregate_id AND p.event_sequence < d.event_sequence AND p.status = 'pending')"

// One statement takes the leases, so racing relays never share a row. Turns count a subscription's (and an
// organization's) sends in flight; lowest turns go first, so no backlog or hanging receiver crowds out another.
const CLAIM = "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE rowid IN (" +
  "WITH busy AS (SELECT subscription_id, organization_id, count(*) AS n FROM webhook_deliveries " +
  "WHERE lease_owner IS NOT NULL AND lease_until > ? AND status = 'pending' GROUP BY subscription_id), " +
  "due AS (SELECT d.rowid AS id, d.organization_id, d.next_attempt_at, d.event_sequence, " +
  "COALESCE((SELECT b.n FROM busy b WHERE b.subscription_id = d.subscription_id), 0) + " +
  "row_number() OVER (PARTITION BY d.subscription_id ORDER BY d.next_attempt_at, d.event_sequence) AS turn " +
  "FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id " +
  "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?) " +
  `AND s.status = 'active' AND ${FIRST_OF_USER}), ` +
  "fair AS (SELECT id, turn, next_attempt_at, event_sequence, " +
  "COALESCE((SELECT sum(b.n) FROM busy b WHERE b.organization_id = due.organization_id), 0) + " +
  "row_number() OVER (PARTITION BY organization_id ORDER BY turn, next_attempt_at, event_sequence) AS org_turn " +
  "FROM due WHERE turn <= ?) " +
  "SELECT id FROM fair ORDER BY org_turn, turn, next_attempt_at, event_sequence LIMIT ?) RETURNING event_sequence"

const SELECT_CLAIMED = "SELECT d.subscription_id, d.event_sequence, d.attempts, d.window_started_at, s.url, " +
  "s.secret_generation, s.previous_generation, s.previous_until, e.sequence, e.event_id, e.organization_id, " +
  "e.aggregate_type, e.aggregate_id, e.version, e.type, e.data, e.metadata, e.occurred_at, e.chain_sequence, " +
  `e.prev_hash, e.hash, e.organization_sequence, ${openingColumns("e")} ` +
  "FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id " +
  "JOIN events e ON e.organization_id = d.organization_id AND e.organization_sequence = d.event_sequence " +
  "WHERE d.lease_owner = ? ORDER BY d.event_sequence"

// Kept even if the lease was lost meanwhile (the attempt happened), unless the subscription was deleted.
const INSERT_ATTEMPT = "INSERT INTO webhook_attempts (subscription_id, event_sequence, attempted_at, duration_ms, " +
  "outcome, http_status, response_excerpt) SELECT ?, ?, ?, ?, ?, ?, ? " +
  "WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE subscription_id = ? AND event_sequence = ?)"

const FINISH_ATTEMPT = "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, " +
  "completed_at = ?, lease_owner = NULL, lease_until = NULL " +
  "WHERE subscription_id = ? AND event_sequence = ? AND lease_owner = ?"

const DISABLE = "UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = ?, disabled_at = ? " +
  "WHERE id = ? AND status = 'active'"

// A leased delivery is due when its lease ends; one held behind a user's earlier delivery is not due.
const SELECT_NEXT_DUE = "SELECT min(max(d.next_attempt_at, COALESCE(d.lease_until, d.next_attempt_at))) AS due " +
  "FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id " +
  `WHERE d.status = 'pending' AND s.status = 'active' AND ${FIRST_OF_USER}`

const SWEPT = "((status = 'delivered' AND completed_at < ?) OR (status = 'failed' AND completed_at < ?))"
const SWEEP_LIMIT = 1_000

// Attempts first, so no attempt outlives its delivery.
const SWEEP_ATTEMPTS = "DELETE FROM webhook_attempts WHERE rowid IN (SELECT a.rowid FROM webhook_attempts a " +
  "JOIN webhook_deliveries d ON d.subscription_id = a.subscription_id AND d.event_sequence = a.event_sequence " +
  `WHERE ${SWEPT.replace(/status|completed_at/g, (c) => `d.${c}`)} LIMIT ${SWEEP_LIMIT})`

const SWEEP_DELIVERIES = "DELETE FROM webhook_deliveries WHERE rowid IN (SELECT rowid FROM webhook_deliveries " +
  `WHERE ${SWEPT} AND NOT EXISTS (SELECT 1 FROM webhook_attempts a ` +
  "WHERE a.subscription_id = webhook_deliveries.subscription_id " +
  `AND a.event_sequence = webhook_deliveries.event_sequence) LIMIT ${SWEEP_LIMIT})`

const SELECT_HAS_ACTIVE =
  "SELECT 1 AS found FROM webhook_subscriptions WHERE organization_id = ? AND status = 'active' " +
  "LIMIT 1"

export const toSubscription = (row: SubscriptionRow): WebhookSubscription => ({
  organizationId: row.organization_id,
  id: row.id,
  url: row.url,
  eventTypes: JSON.parse(row.event_types),
  generation: Number(row.secret_generation),
  previousGeneration: row.previous_generation === null ? null : Number(row.previous_generation),
  previousUntil: row.previous_until,
  status: row.status,
  disabledReason: row.disabled_reason,
  disabledAt: row.disabled_at,
  createdAt: row.created_at
})

const toAttempt = (row: AttemptRow): DeliveryAttempt => ({
  attemptedAt: row.attempted_at,
  durationMs: Number(row.duration_ms),
  outcome: row.outcome,
  httpStatus: row.http_status === null ? null : Number(row.http_status),
  responseExcerpt: row.response_excerpt
})

const toDelivery = (row: DeliveryRow, attempts: ReadonlyArray<DeliveryAttempt>): Delivery => ({
  subscriptionId: row.subscription_id,
  eventSequence: Number(row.event_sequence),
  eventId: row.event_id,
  eventType: row.event_type,
  aggregateId: row.aggregate_id,
  version: Number(row.version),
  status: row.status,
  nextAttemptAt: row.status === "pending" ? row.next_attempt_at : null,
  createdAt: row.created_at,
  completedAt: row.completed_at,
  attempts
})

const toClaimed = (row: ClaimedRow, leaseOwner: string): ClaimedDelivery => ({
  organizationId: row.organization_id,
  subscription: {
    id: row.subscription_id,
    url: row.url,
    generation: Number(row.secret_generation),
    previousGeneration: row.previous_generation === null ? null : Number(row.previous_generation),
    previousUntil: row.previous_until
  },
  eventSequence: Number(row.event_sequence),
  attempts: Number(row.attempts),
  windowStartedAt: row.window_started_at,
  leaseOwner,
  event: toChainedEvent(row)
})

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
