// Moving an organization up to a higher D1 shard (docs/PRODUCTION.md, "Tenants across databases"). Numbers are
// copied unchanged: checkpoints sealed before migration 0007 hash the row id. SQL text to run with wrangler; over
// 250 lines because every table an organization owns is copied and forgotten here, side by side.
import { Effect } from "effect"
import { sqlString } from "../layers/sql/literal.js"

/** A trillion events per shard before two ranges could meet. */
export const SHARD_SEQUENCE_SPAN = 2 ** 40

/** Once, on that shard's database, before it holds events. */
export const initShardSql = (shard: number): string => {
  const start = shard * SHARD_SEQUENCE_SPAN
  return `INSERT INTO sqlite_sequence (name, seq) SELECT 'events', ${start} ` +
    `WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');\n` +
    `UPDATE sqlite_sequence SET seq = ${start} WHERE name = 'events' AND seq < ${start};`
}

/** NULL while it is moved (its requests answer 503). */
export const routeOrganizationSql = (organizationId: string, shard: number | null): string =>
  `UPDATE organizations SET shard = ${shard === null ? "NULL" : Math.trunc(shard)} WHERE id = ${
    sqlString(organizationId)
  };`

/** The users' versions, events and checkpoints stay, frozen, and still verify there. */
export const forgetMovedOrganizationSql = (organizationId: string): string => {
  const id = sqlString(organizationId)
  return `UPDATE users SET phone_number = NULL, phone_number_key = NULL WHERE organization_id = ${id};\n` +
    `DELETE FROM phone_fingerprints WHERE organization_id = ${id};\n` +
    `DELETE FROM phone_policies WHERE organization_id = ${id};\n` +
    `DELETE FROM phone_lookups WHERE organization_id = ${id};\n` +
    `DELETE FROM verification_code_counts WHERE organization_id = ${id};\n` +
    `DELETE FROM idempotency_keys WHERE organization_id = ${id};\n` +
    `DELETE FROM webhook_attempts WHERE subscription_id IN ` +
    `(SELECT id FROM webhook_subscriptions WHERE organization_id = ${id});\n` +
    `DELETE FROM webhook_deliveries WHERE organization_id = ${id};\n` +
    `DELETE FROM webhook_subscriptions WHERE organization_id = ${id};`
}

export type Value = string | number | null
export type Row = Readonly<Record<string, Value>>

const literal = (value: Value): string =>
  value === null ? "NULL" : typeof value === "number" ? String(value) : sqlString(value)

const insert = (table: string, columns: ReadonlyArray<string>, row: Row, onConflict = "DO NOTHING"): string =>
  `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${
    columns.map((c) => literal(row[c] ?? null)).join(", ")
  }) ON CONFLICT ${onConflict};`

const USER_COLUMNS = [
  "organization_id",
  "id",
  "phone_number",
  "phone_number_key",
  "phone_number_verified",
  "erased_at",
  "version",
  "created_at",
  "updated_at"
]
const EVENT_COLUMNS = [
  "sequence",
  "event_id",
  "organization_id",
  "aggregate_type",
  "aggregate_id",
  "version",
  "type",
  "data",
  "metadata",
  "occurred_at",
  "prev_hash",
  "hash",
  "organization_sequence"
]
const POLICY_COLUMNS = ["organization_id", "policy", "updated_at"]
const LOOKUP_COLUMNS = [
  "organization_id",
  "sequence",
  "id",
  "occurred_at",
  "actor",
  "request_id",
  "numbers_count",
  "matches_count",
  "masked_phone_numbers"
]
const CODE_COUNT_COLUMNS = [
  "organization_id",
  "limit_name",
  "subject",
  "window_start",
  "window_end",
  "count",
  "quota"
]
const CHECKPOINT_COLUMNS = [
  "organization_id",
  "sequence",
  "up_to_event_sequence",
  "event_count",
  "root",
  "prev_hash",
  "hash",
  "created_at",
  "legacy_up_to_event_sequence"
]
const REDACTED_COLUMNS = ["organization_id", "aggregate_id", "version"]
const FINGERPRINT_COLUMNS = [...REDACTED_COLUMNS, "fingerprints"]
const IDEMPOTENCY_COLUMNS = [
  "organization_id",
  "principal",
  "idempotency_key",
  "user_id",
  "request_hash",
  "state",
  "lock_token",
  "response_status",
  "response_headers",
  "response_body",
  "created_at",
  "expires_at"
]

// The cursor is an event number, kept like the events' own.
const SUBSCRIPTION_COLUMNS = [
  "organization_id",
  "id",
  "url",
  "event_types",
  "secret_generation",
  "previous_generation",
  "previous_until",
  "status",
  "disabled_reason",
  "disabled_at",
  "cursor",
  "created_at"
]
// A lease belongs to a relay of the shard left behind.
const DELIVERY_COLUMNS = [
  "organization_id",
  "subscription_id",
  "event_sequence",
  "event_id",
  "event_type",
  "aggregate_id",
  "version",
  "status",
  "attempts",
  "next_attempt_at",
  "window_started_at",
  "created_at",
  "completed_at"
]
const ATTEMPT_COLUMNS = [
  "subscription_id",
  "event_sequence",
  "attempted_at",
  "duration_ms",
  "outcome",
  "http_status",
  "response_excerpt"
]

const insertAttempt = (attempt: Row): string =>
  `INSERT INTO webhook_attempts (${ATTEMPT_COLUMNS.join(", ")}) SELECT ${
    ATTEMPT_COLUMNS.map((c) => literal(attempt[c] ?? null)).join(", ")
  } WHERE NOT EXISTS (SELECT 1 FROM webhook_attempts WHERE ${
    ATTEMPT_COLUMNS.slice(0, 3).map((c) => `${c} = ${literal(attempt[c] ?? null)}`).join(" AND ")
  });`

export class MoveRefused extends Error {}

/**
 * Replays the rows in the order the triggers of migrations/0004 accept; every statement leaves a row already there
 * as it was, so a run that stopped half-way can run again.
 */
export const exportOrganizationSql = <E>(
  select: (sql: string) => Effect.Effect<ReadonlyArray<Row>, E>,
  organizationId: string,
  from: number,
  to: number
) =>
  Effect.gen(function*() {
    if (!(Number.isInteger(to) && to > from)) {
      return yield* Effect.fail(
        new MoveRefused(`an organization moves to a shard numbered above its own (${from}), not to ${to}`)
      )
    }
    const of = `organization_id = ${sqlString(organizationId)}`
    const [organization] = yield* select(
      `SELECT id, name, created_at FROM organizations WHERE id = ${sqlString(organizationId)}`
    )
    if (organization === undefined) {
      return yield* Effect.fail(new MoveRefused(`no organization ${organizationId} on shard ${from}`))
    }
    if ((yield* select(`SELECT 1 FROM events WHERE ${of} AND chain_sequence IS NOT NULL LIMIT 1`)).length > 0) {
      return yield* Effect.fail(
        new MoveRefused(`${organizationId} has events from before migration 0004, which cannot be copied`)
      )
    }
    const users = yield* select(`SELECT ${USER_COLUMNS.join(", ")} FROM users WHERE ${of}`)
    const events = yield* select(`SELECT ${EVENT_COLUMNS.join(", ")} FROM events WHERE ${of} ORDER BY sequence`)
    const checkpoints = yield* select(
      `SELECT ${CHECKPOINT_COLUMNS.join(", ")} FROM audit_checkpoints WHERE ${of} ORDER BY sequence`
    )
    const fingerprints = yield* select(`SELECT ${FINGERPRINT_COLUMNS.join(", ")} FROM phone_fingerprints WHERE ${of}`)
    const redacted = yield* select(`SELECT ${REDACTED_COLUMNS.join(", ")} FROM redacted_events WHERE ${of}`)
    const keys = yield* select(`SELECT ${IDEMPOTENCY_COLUMNS.join(", ")} FROM idempotency_keys WHERE ${of}`)
    const policies = yield* select(`SELECT ${POLICY_COLUMNS.join(", ")} FROM phone_policies WHERE ${of}`)
    const lookups = yield* select(`SELECT ${LOOKUP_COLUMNS.join(", ")} FROM phone_lookups WHERE ${of}`)
    const codeCounts = yield* select(
      `SELECT ${CODE_COUNT_COLUMNS.join(", ")} FROM verification_code_counts WHERE ${of}`
    )
    const subscriptions = yield* select(
      `SELECT ${SUBSCRIPTION_COLUMNS.join(", ")} FROM webhook_subscriptions WHERE ${of}`
    )
    const deliveries = yield* select(
      `SELECT ${DELIVERY_COLUMNS.join(", ")} FROM webhook_deliveries WHERE ${of} ORDER BY event_sequence`
    )
    const attempts = yield* select(
      `SELECT ${ATTEMPT_COLUMNS.join(", ")} FROM webhook_attempts WHERE subscription_id IN ` +
        `(SELECT id FROM webhook_subscriptions WHERE ${of}) ORDER BY id`
    )

    const userById = new Map(users.map((u) => [String(u.id), u]))
    const started = new Set<string>()
    const where = (userId: string) => `WHERE ${of} AND id = ${sqlString(userId)}`
    const statements = [
      insert("organizations", ["id", "name", "created_at", "shard"], { ...organization, shard: to })
    ]
    for (const event of events) {
      const userId = String(event.aggregate_id)
      const user = userById.get(userId)
      if (event.aggregate_type === "User" && user !== undefined) {
        statements.push(
          started.has(userId)
            ? `UPDATE users SET version = ${literal(event.version!)} ${where(userId)};`
            // On a second run the row is at its final version: its first event needs version 1.
            : insert(
              "users",
              USER_COLUMNS,
              { ...user, version: event.version! },
              "(organization_id, id) DO UPDATE SET version = excluded.version"
            )
        )
        started.add(userId)
      }
      statements.push(insert("events", EVENT_COLUMNS, event))
    }
    for (const user of users) {
      statements.push(insert("users", USER_COLUMNS, user))
      const set = USER_COLUMNS.slice(2).map((c) => `${c} = ${literal(user[c] ?? null)}`).join(", ")
      statements.push(`UPDATE users SET ${set} ${where(String(user.id))};`)
    }
    // After the users rows are final: only an erased user's events are listed as redacted.
    for (const row of fingerprints) statements.push(insert("phone_fingerprints", FINGERPRINT_COLUMNS, row))
    for (const row of redacted) statements.push(insert("redacted_events", REDACTED_COLUMNS, row))
    for (const checkpoint of checkpoints) statements.push(insert("audit_checkpoints", CHECKPOINT_COLUMNS, checkpoint))
    for (const key of keys) statements.push(insert("idempotency_keys", IDEMPOTENCY_COLUMNS, key))
    for (const row of policies) statements.push(insert("phone_policies", POLICY_COLUMNS, row))
    for (const row of lookups) statements.push(insert("phone_lookups", LOOKUP_COLUMNS, row))
    for (const row of codeCounts) statements.push(insert("verification_code_counts", CODE_COUNT_COLUMNS, row))
    for (const subscription of subscriptions) {
      statements.push(insert("webhook_subscriptions", SUBSCRIPTION_COLUMNS, subscription))
    }
    for (const delivery of deliveries) statements.push(insert("webhook_deliveries", DELIVERY_COLUMNS, delivery))
    for (const attempt of attempts) statements.push(insertAttempt(attempt))
    return statements
  })
