// The webhook store's SQL, its rows and their mapping to the service's types.
import type { ClaimedDelivery, Delivery, DeliveryAttempt, WebhookSubscription } from "../../services/webhooks.js"
import { openingColumns } from "./fingerprint-rows.js"
import { type EventRow, toChainedEvent } from "./rows.js"

export type Param = string | number | null

export interface SubscriptionRow {
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

export interface DeliveryRow {
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

export interface AttemptRow {
  readonly subscription_id: string
  readonly event_sequence: number
  readonly attempted_at: string
  readonly duration_ms: number
  readonly outcome: DeliveryAttempt["outcome"]
  readonly http_status: number | null
  readonly response_excerpt: string | null
}

export type ClaimedRow = EventRow & {
  readonly subscription_id: string
  readonly event_sequence: number
  readonly attempts: number
  readonly window_started_at: string
  readonly url: string
  readonly secret_generation: number
  readonly previous_generation: number | null
  readonly previous_until: string | null
}

export const SUBSCRIPTION_COLUMNS = "organization_id, id, url, event_types, secret_generation, previous_generation, " +
  "previous_until, status, disabled_reason, disabled_at, created_at"

// The cursor is the store's last event number at creation: the subscription sees what is written from then on.
export const INSERT_SUBSCRIPTION = "INSERT INTO webhook_subscriptions (organization_id, id, url, event_types, " +
  "secret_generation, previous_generation, previous_until, status, disabled_reason, disabled_at, cursor, created_at) " +
  "VALUES (?, ?, ?, ?, 1, NULL, NULL, 'active', NULL, NULL, (SELECT COALESCE(max(sequence), 0) FROM events), ?) " +
  `RETURNING ${SUBSCRIPTION_COLUMNS}`

export const SELECT_SUBSCRIPTIONS =
  `SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE organization_id = ? ` +
  "ORDER BY created_at, id"

export const SELECT_SUBSCRIPTION = `SELECT ${SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ` +
  "WHERE organization_id = ? AND id = ?"

export const OF_SUBSCRIPTION =
  "subscription_id IN (SELECT id FROM webhook_subscriptions WHERE organization_id = ? AND id = ?)"

/** Older generations still signing, so a retried rotation never drops the secret receivers have. */
export const MAX_PREVIOUS_GENERATIONS = 4

export const ROTATE = "UPDATE webhook_subscriptions SET " +
  "previous_generation = CASE WHEN previous_until IS NOT NULL AND previous_until > ? " +
  `THEN max(previous_generation, secret_generation - ${MAX_PREVIOUS_GENERATIONS - 1}) ` +
  "ELSE secret_generation END, " +
  "secret_generation = secret_generation + 1, previous_until = ? " +
  `WHERE organization_id = ? AND id = ? RETURNING ${SUBSCRIPTION_COLUMNS}`

export const DELIVERY_COLUMNS =
  "subscription_id, event_sequence, event_id, event_type, aggregate_id, version, status, " +
  "next_attempt_at, created_at, completed_at"

export const SELECT_DELIVERIES = `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ` +
  "WHERE organization_id = ? AND subscription_id = ? AND event_sequence > ? ORDER BY event_sequence LIMIT ?"

export const SELECT_DELIVERIES_WITH_STATUS = `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ` +
  "WHERE organization_id = ? AND subscription_id = ? AND status = ? AND event_sequence > ? " +
  "ORDER BY event_sequence LIMIT ?"

export const SELECT_DELIVERY = `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ` +
  "WHERE organization_id = ? AND subscription_id = ? AND event_id = ?"

/** Attempts shown per delivery; all are kept until the delivery is swept. */
export const ATTEMPTS_SHOWN = 50

export const SELECT_ATTEMPTS =
  "SELECT subscription_id, event_sequence, attempted_at, duration_ms, outcome, http_status, " +
  "response_excerpt FROM webhook_attempts WHERE subscription_id = ? AND event_sequence >= ? AND event_sequence <= ? " +
  "ORDER BY id DESC LIMIT ?"

export const RESEND = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, " +
  "window_started_at = ?, completed_at = NULL, lease_owner = NULL, lease_until = NULL " +
  "WHERE organization_id = ? AND subscription_id = ? AND event_id = ? AND status <> 'pending'"

export const SELECT_DERIVE_RANGE = "SELECT (SELECT COALESCE(max(sequence), 0) FROM events) AS last, " +
  "(SELECT min(cursor) FROM webhook_subscriptions WHERE status = 'active') AS low"

// A round derives the next `span` events, not numbers: a shard numbers from its own range and a moved-in organization
// brings lower numbers, so counting numbers would crawl through the gap.
export const SELECT_DERIVE_UP_TO = "SELECT max(sequence) AS up_to, count(*) AS events FROM " +
  "(SELECT sequence FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?)"

// Keyed by (subscription, event): two relays deriving the same events add nothing. The cursor is the store's row id;
// a delivery names the organization's event number.
export const DERIVE_DELIVERIES = "INSERT OR IGNORE INTO webhook_deliveries (organization_id, subscription_id, " +
  "event_sequence, event_id, event_type, aggregate_id, version, status, attempts, next_attempt_at, " +
  "window_started_at, created_at) " +
  "SELECT s.organization_id, s.id, e.organization_sequence, e.event_id, e.type, e.aggregate_id, e.version, 'pending', 0, ?, ?, ? " +
  "FROM webhook_subscriptions s JOIN events e ON e.organization_id = s.organization_id " +
  "AND e.sequence > s.cursor AND e.sequence <= ? " +
  "WHERE s.status = 'active' AND EXISTS (SELECT 1 FROM json_each(s.event_types) t WHERE t.value = e.type)"

export const ADVANCE_CURSORS = "UPDATE webhook_subscriptions SET cursor = ? WHERE status = 'active' AND cursor < ?"

// A user's events go out in version order: none while an earlier one to the same subscription is pending.
export const FIRST_OF_USER =
  "NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.subscription_id = d.subscription_id " +
  "AND p.aggregate_id = d.aggregate_id AND p.event_sequence < d.event_sequence AND p.status = 'pending')"

// One statement takes the leases, so racing relays never share a row. Turns count a subscription's (and an
// organization's) sends in flight; lowest turns go first, so no backlog or hanging receiver crowds out another.
export const CLAIM = "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE rowid IN (" +
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

export const SELECT_CLAIMED = "SELECT d.subscription_id, d.event_sequence, d.attempts, d.window_started_at, s.url, " +
  "s.secret_generation, s.previous_generation, s.previous_until, e.sequence, e.event_id, e.organization_id, " +
  "e.aggregate_type, e.aggregate_id, e.version, e.type, e.data, e.metadata, e.occurred_at, e.chain_sequence, " +
  `e.prev_hash, e.hash, e.organization_sequence, ${openingColumns("e")} ` +
  "FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id " +
  "JOIN events e ON e.organization_id = d.organization_id AND e.organization_sequence = d.event_sequence " +
  "WHERE d.lease_owner = ? ORDER BY d.event_sequence"

// Kept even if the lease was lost meanwhile (the attempt happened), unless the subscription was deleted.
export const INSERT_ATTEMPT =
  "INSERT INTO webhook_attempts (subscription_id, event_sequence, attempted_at, duration_ms, " +
  "outcome, http_status, response_excerpt) SELECT ?, ?, ?, ?, ?, ?, ? " +
  "WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE subscription_id = ? AND event_sequence = ?)"

export const FINISH_ATTEMPT =
  "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, " +
  "completed_at = ?, lease_owner = NULL, lease_until = NULL " +
  "WHERE subscription_id = ? AND event_sequence = ? AND lease_owner = ?"

export const DISABLE = "UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = ?, disabled_at = ? " +
  "WHERE id = ? AND status = 'active'"

// A leased delivery is due when its lease ends; one held behind a user's earlier delivery is not due.
export const SELECT_NEXT_DUE =
  "SELECT min(max(d.next_attempt_at, COALESCE(d.lease_until, d.next_attempt_at))) AS due " +
  "FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id " +
  `WHERE d.status = 'pending' AND s.status = 'active' AND ${FIRST_OF_USER}`

export const SWEPT = "((status = 'delivered' AND completed_at < ?) OR (status = 'failed' AND completed_at < ?))"
export const SWEEP_LIMIT = 1_000

// Attempts first, so no attempt outlives its delivery.
export const SWEEP_ATTEMPTS = "DELETE FROM webhook_attempts WHERE rowid IN (SELECT a.rowid FROM webhook_attempts a " +
  "JOIN webhook_deliveries d ON d.subscription_id = a.subscription_id AND d.event_sequence = a.event_sequence " +
  `WHERE ${SWEPT.replace(/status|completed_at/g, (c) => `d.${c}`)} LIMIT ${SWEEP_LIMIT})`

export const SWEEP_DELIVERIES = "DELETE FROM webhook_deliveries WHERE rowid IN (SELECT rowid FROM webhook_deliveries " +
  `WHERE ${SWEPT} AND NOT EXISTS (SELECT 1 FROM webhook_attempts a ` +
  "WHERE a.subscription_id = webhook_deliveries.subscription_id " +
  `AND a.event_sequence = webhook_deliveries.event_sequence) LIMIT ${SWEEP_LIMIT})`

export const SELECT_HAS_ACTIVE =
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

export const toAttempt = (row: AttemptRow): DeliveryAttempt => ({
  attemptedAt: row.attempted_at,
  durationMs: Number(row.duration_ms),
  outcome: row.outcome,
  httpStatus: row.http_status === null ? null : Number(row.http_status),
  responseExcerpt: row.response_excerpt
})

export const toDelivery = (row: DeliveryRow, attempts: ReadonlyArray<DeliveryAttempt>): Delivery => ({
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

export const toClaimed = (row: ClaimedRow, leaseOwner: string): ClaimedDelivery => ({
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
