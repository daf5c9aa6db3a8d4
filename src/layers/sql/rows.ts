/**
 * How users and events are laid out in the tables of migrations/, shared by every SQL store.
 */
import { type ChainHead, type ChainLink, emptyHead, type StoredLink } from "../../audit/chain.js"
import type { E164 } from "../../domain/phone.js"
import type { User, UserEvent } from "../../domain/user.js"
import type { Change } from "../../services/user-repo.js"
import type { Statement } from "./atomic-write.js"

export interface UserRow {
  readonly organization_id: string
  readonly id: string
  readonly phone_number: string | null
  readonly phone_number_verified: number
  readonly erased_at: string | null
  readonly version: number
}

export interface EventRow {
  readonly event_id: string
  readonly organization_id: string
  readonly aggregate_type: string
  readonly aggregate_id: string
  readonly version: number
  readonly type: string
  readonly data: string
  readonly metadata: string
  readonly occurred_at: string
  readonly chain_sequence: number
  readonly prev_hash: string
  readonly hash: string
}

export const SELECT_USER = "SELECT organization_id, id, phone_number, phone_number_verified, erased_at, version " +
  "FROM users WHERE organization_id = ? AND id = ?"

const EVENT_COLUMNS = "event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
  "occurred_at, chain_sequence, prev_hash, hash"

export const SELECT_EVENTS = `SELECT ${EVENT_COLUMNS} FROM events ` +
  "WHERE organization_id = ? AND aggregate_id = ? AND version > ? ORDER BY version LIMIT ?"

/** Every event of the store in chain order, for verification. */
export const SELECT_CHAIN = `SELECT ${EVENT_COLUMNS} FROM events ORDER BY organization_id, chain_sequence`

export const SELECT_HEAD =
  "SELECT chain_sequence, hash FROM events WHERE organization_id = ? ORDER BY chain_sequence DESC LIMIT 1"

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

export const toStoredLink = (row: EventRow): StoredLink => ({
  organizationId: row.organization_id,
  chainSequence: Number(row.chain_sequence),
  prevHash: row.prev_hash,
  hash: row.hash,
  event: toEvent(row)
})

export const toHead = (rows: ReadonlyArray<{ chain_sequence: number; hash: string }>): ChainHead =>
  rows[0] === undefined ? emptyHead : { sequence: Number(rows[0].chain_sequence), hash: rows[0].hash }

/**
 * A user's completed Idempotency-Key records (answers and request hashes), deleted with its erasure. A running
 * request's row (the erasure's own among them) is in progress and stays, so that its answer is still kept.
 */
const DELETE_USER_IDEMPOTENCY_RECORDS = "DELETE FROM idempotency_keys " +
  "WHERE organization_id = ? AND user_id = ? AND state = 'completed'"

/**
 * The statements of one change, run as one atomic unit: the row write and the event append, in the order the
 * triggers expect (row first), and for an erasure the deletion of the user's idempotency records.
 */
export const changeStatements = (change: Change, link: ChainLink): ReadonlyArray<Statement> =>
  change.event.type === "UserPersonalDataErased"
    ? [
      ...rowAndEvent(change, link),
      { sql: DELETE_USER_IDEMPOTENCY_RECORDS, params: [change.state.organizationId, change.state.id] }
    ]
    : rowAndEvent(change, link)

const rowAndEvent = ({ event, state }: Change, link: ChainLink): ReadonlyArray<Statement> => [
  state.version === 1
    ? {
      // A concurrent create of the same user must lose on the user's key (a race: retried, then 409
      // user-already-exists), not on the number it also took (phone-number-in-use, which would tell the loser that
      // the number is held): without the ON CONFLICT target SQLite reports the number's index first.
      // Only D1 can race here (SQLite files read and write in one transaction); the event below then fails.
      sql: "INSERT INTO users (organization_id, id, phone_number, phone_number_verified, erased_at, version, " +
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (organization_id, id) DO NOTHING",
      params: [
        state.organizationId,
        state.id,
        state.phoneNumber,
        state.phoneNumberVerified ? 1 : 0,
        state.erasedAt,
        event.occurredAt,
        event.occurredAt
      ]
    }
    : {
      sql: "UPDATE users SET phone_number = ?, phone_number_verified = ?, erased_at = ?, version = ?, updated_at = ? " +
        "WHERE organization_id = ? AND id = ? AND version = ?",
      params: [
        state.phoneNumber,
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
    sql: `INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      link.chainSequence,
      link.prevHash,
      link.hash
    ]
  }
]
