// The statements and rows every SQL store shares; over 250 lines as one place holds every column of users and events.
import type { EventLink } from "../../audit/chain.js"
import type { Checkpoint } from "../../audit/checkpoint.js"
import type { StoredEvent } from "../../audit/verify.js"
import type { E164 } from "../../domain/phone.js"
import type { User, UserEvent } from "../../domain/user.js"
import type { NumberKeying } from "../../services/phone-number-keys.js"
import type { Change } from "../../services/user-repo.js"
import type { ChainedEvent } from "../../services/webhooks.js"
import {
  fingerprintStatements,
  forgetStatements,
  openingColumns,
  type OpeningRow,
  toOpening
} from "./fingerprint-rows.js"
import { clearPending, pendingStatements } from "./phone-verification-rows.js"

export interface Statement {
  readonly sql: string
  readonly params: ReadonlyArray<string | number | null>
}

export interface UserRow {
  readonly organization_id: string
  readonly id: string
  readonly phone_number: string | null
  readonly phone_number_verified: number
  readonly erased_at: string | null
  readonly version: number
  /** The user's chain head. */
  readonly head_hash: string | null
}

export interface EventRow {
  /** The store's row id, never shown to a tenant. */
  readonly sequence: number
  /** The organization's own event number: what a tenant sees. */
  readonly organization_sequence: number
  readonly event_id: string
  readonly organization_id: string
  readonly aggregate_type: string
  readonly aggregate_id: string
  readonly version: number
  readonly type: string
  readonly data: string
  readonly metadata: string
  readonly occurred_at: string
  readonly chain_sequence: number | null
  readonly prev_hash: string
  readonly hash: string
  /** Read by the feed, webhooks and verification only. */
  readonly fingerprints?: OpeningRow["fingerprints"]
  readonly redacted?: OpeningRow["redacted"]
}

export interface CheckpointRow {
  readonly organization_id: string
  readonly sequence: number
  readonly up_to_event_sequence: number
  readonly legacy_up_to_event_sequence: number | null
  readonly event_count: number
  readonly root: string
  readonly prev_hash: string
  readonly hash: string
  readonly created_at: string
}

export const SELECT_USER = "SELECT organization_id, id, phone_number, phone_number_verified, erased_at, version, " +
  "(SELECT hash FROM events WHERE events.organization_id = users.organization_id AND events.aggregate_id = users.id " +
  "AND events.version = users.version) AS head_hash FROM users WHERE organization_id = ? AND id = ?"

const EVENT_COLUMNS = "event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
  "occurred_at, chain_sequence, prev_hash, hash, organization_sequence"

export const SELECT_EVENTS = `SELECT sequence, ${EVENT_COLUMNS} FROM events ` +
  "WHERE organization_id = ? AND aggregate_id = ? AND version > ? ORDER BY version LIMIT ?"

export const SELECT_FEED = `SELECT sequence, ${EVENT_COLUMNS}, ${openingColumns("events")} FROM events ` +
  "WHERE organization_id = ? AND organization_sequence > ? ORDER BY organization_sequence LIMIT ?"

export const SELECT_ALL_EVENTS = `SELECT sequence, ${EVENT_COLUMNS}, ${openingColumns("events")} FROM events ` +
  "ORDER BY sequence"

export const SELECT_EVENT_HEADS_AFTER = "SELECT organization_sequence, aggregate_id, version, hash FROM events " +
  "WHERE organization_id = ? AND organization_sequence > ? ORDER BY organization_sequence LIMIT ?"

const CHECKPOINT_COLUMNS = "organization_id, sequence, up_to_event_sequence, event_count, root, prev_hash, hash, " +
  "created_at, legacy_up_to_event_sequence"

export const SELECT_LAST_CHECKPOINT = `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ` +
  "WHERE organization_id = ? ORDER BY sequence DESC LIMIT 1"

export const SELECT_ALL_CHECKPOINTS =
  `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY organization_id, sequence`

export const INSERT_CHECKPOINT =
  `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

export const SELECT_CHECKPOINTS_AFTER = `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ` +
  "WHERE organization_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"

export const SELECT_UNSEALED_ORGANIZATIONS = "SELECT DISTINCT e.organization_id FROM events e " +
  "WHERE e.organization_sequence > COALESCE((SELECT max(c.up_to_event_sequence) FROM audit_checkpoints c " +
  "WHERE c.organization_id = e.organization_id), 0) LIMIT ?"

export const SELECT_USER_VERSIONS = "SELECT organization_id, id, version FROM users"

export const toUser = (row: UserRow): User => ({
  organizationId: row.organization_id,
  id: row.id,
  phoneNumber: row.phone_number as E164 | null,
  phoneNumberVerified: Number(row.phone_number_verified) === 1,
  erasedAt: row.erased_at,
  version: Number(row.version)
})

export const toEvent = (row: EventRow): UserEvent =>
  ({
    id: row.event_id,
    type: row.type,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    version: Number(row.version),
    occurredAt: row.occurred_at,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata)
  }) as UserEvent

export const toStoredEvent = (row: EventRow): StoredEvent => ({
  sequence: Number(row.sequence),
  organizationSequence: Number(row.organization_sequence),
  organizationId: row.organization_id,
  chainSequence: row.chain_sequence === null ? null : Number(row.chain_sequence),
  prevHash: row.prev_hash,
  hash: row.hash,
  event: toEvent(row),
  ...(Number(row.redacted) === 1 ? { redacted: true } : {})
})

export const toChainedEvent = (row: EventRow): ChainedEvent => ({
  sequence: Number(row.organization_sequence),
  prevHash: row.prev_hash,
  hash: row.hash,
  event: toEvent(row),
  ...toOpening({ fingerprints: row.fingerprints ?? null, redacted: row.redacted ?? 0 })
})

export const toCheckpoint = (row: CheckpointRow): Checkpoint => ({
  organizationId: row.organization_id,
  sequence: Number(row.sequence),
  upToEventSequence: Number(row.up_to_event_sequence),
  eventCount: Number(row.event_count),
  root: row.root,
  prevHash: row.prev_hash,
  hash: row.hash,
  createdAt: row.created_at,
  legacyUpToEventSequence: row.legacy_up_to_event_sequence === null ? null : Number(row.legacy_up_to_event_sequence)
})

export const checkpointParams = (c: Checkpoint): ReadonlyArray<string | number | null> => [
  c.organizationId,
  c.sequence,
  c.upToEventSequence,
  c.eventCount,
  c.root,
  c.prevHash,
  c.hash,
  c.createdAt,
  c.legacyUpToEventSequence
]

// Erasure deletes a user's completed Idempotency-Key records; in-progress ones (the erasure's own) stay so their
// answer is still kept.
const DELETE_USER_IDEMPOTENCY_RECORDS = "DELETE FROM idempotency_keys " +
  "WHERE organization_id = ? AND user_id = ? AND state = 'completed'"

const keyOf = (phoneNumber: E164 | null, numberKey: NumberKeying["keyOf"] | undefined) =>
  phoneNumber === null || numberKey === undefined ? null : numberKey(phoneNumber)

/** One change as one atomic unit: the row first (the triggers expect it), then the event. */
export const changeStatements = (
  change: Change,
  link: EventLink,
  numberKey?: NumberKeying["keyOf"],
  releasedLink?: EventLink
): ReadonlyArray<Statement> =>
  change.event.type === "UserPersonalDataErased"
    ? [
      ...rowAndEvent(change, link, numberKey),
      { sql: DELETE_USER_IDEMPOTENCY_RECORDS, params: [change.state.organizationId, change.state.id] },
      ...forgetStatements(change.state.organizationId, change.state.id),
      clearPending(change.state)
    ]
    : [
      ...(change.released !== undefined && releasedLink !== undefined
        ? [...rowAndEvent(change.released, releasedLink, numberKey), ...fingerprintStatements(change.released)]
        : []),
      ...rowAndEvent(change, link, numberKey),
      ...fingerprintStatements(change),
      ...pendingStatements(change)
    ]

// The lookup key is written with the number and cleared with it (migrations/0010).
const rowAndEvent = (
  { event, state }: Pick<Change, "event" | "state">,
  link: EventLink,
  numberKey: NumberKeying["keyOf"] | undefined
): ReadonlyArray<Statement> => [
  state.version === 1
    ? {
      // A concurrent create must lose on the user's key (retried, then user-already-exists), not on the number
      // (which would tell the loser it is held): without this ON CONFLICT SQLite reports the number's index first.
      sql:
        "INSERT INTO users (organization_id, id, phone_number, phone_number_key, phone_number_verified, erased_at, " +
        "version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (organization_id, id) DO NOTHING",
      params: [
        state.organizationId,
        state.id,
        state.phoneNumber,
        keyOf(state.phoneNumber, numberKey),
        state.phoneNumberVerified ? 1 : 0,
        state.erasedAt,
        event.occurredAt,
        event.occurredAt
      ]
    }
    : {
      sql: "UPDATE users SET phone_number = ?, phone_number_key = ?, phone_number_verified = ?, erased_at = ?, " +
        "version = ?, updated_at = ? WHERE organization_id = ? AND id = ? AND version = ?",
      params: [
        state.phoneNumber,
        keyOf(state.phoneNumber, numberKey),
        state.phoneNumberVerified ? 1 : 0,
        state.erasedAt,
        state.version,
        event.occurredAt,
        state.organizationId,
        state.id,
        state.version - 1
      ]
    },
  {
    // chain_sequence stays NULL: the organization-wide chain is closed (migrations/0004). The next number is read in
    // this same atomic unit, so concurrent writers neither collide nor skip one.
    sql: `INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ` +
      "(SELECT COALESCE(max(organization_sequence), 0) + 1 FROM events WHERE organization_id = ?))",
    params: [
      event.id,
      event.metadata.organizationId,
      event.aggregateType,
      event.aggregateId,
      event.version,
      event.type,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
      event.occurredAt,
      link.prevHash,
      link.hash,
      event.metadata.organizationId
    ]
  }
]
