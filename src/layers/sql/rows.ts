/**
 * How users and events are laid out in the tables of migrations/, shared by every SQL store.
 */
import type { E164 } from "../../domain/phone.js"
import type { User, UserEvent } from "../../domain/user.js"
import type { Change } from "../../services/user-repo.js"
import type { Statement } from "./atomic-write.js"

export interface UserRow {
  readonly organization_id: string
  readonly id: string
  readonly phone_number: string | null
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
}

export const SELECT_USER =
  "SELECT organization_id, id, phone_number, version FROM users WHERE organization_id = ? AND id = ?"

export const SELECT_EVENTS = "SELECT event_id, organization_id, aggregate_type, aggregate_id, version, type, data, " +
  "metadata, occurred_at FROM events WHERE organization_id = ? AND aggregate_id = ? AND version > ? " +
  "ORDER BY version LIMIT ?"

export const toUser = (row: UserRow): User => ({
  organizationId: row.organization_id,
  id: row.id,
  phoneNumber: row.phone_number as E164 | null,
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

/** The row write and the event append of one change, in the order the trigger expects (row first). */
export const changeStatements = ({ event, state }: Change): ReadonlyArray<Statement> => [
  state.version === 1
    ? {
      sql: "INSERT INTO users (organization_id, id, phone_number, version, created_at, updated_at) " +
        "VALUES (?, ?, ?, 1, ?, ?)",
      params: [state.organizationId, state.id, state.phoneNumber, event.occurredAt, event.occurredAt]
    }
    : {
      sql: "UPDATE users SET phone_number = ?, version = ?, updated_at = ? " +
        "WHERE organization_id = ? AND id = ? AND version = ?",
      params: [state.phoneNumber, state.version, event.occurredAt, state.organizationId, state.id, state.version - 1]
    },
  {
    sql: "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, " +
      "metadata, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    params: [
      event.id,
      event.metadata.organizationId,
      event.aggregateType,
      event.aggregateId,
      event.version,
      event.type,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
      event.occurredAt
    ]
  }
]
