// The pending change (its number is PII, its code only a keyed hash) and the code-delivery endpoint.
import type { PendingPhoneNumberChange } from "../../domain/phone-change.js"
import type { E164, MaskedPhoneNumber } from "../../domain/phone.js"
import type { User } from "../../domain/user.js"
import type { Change } from "../../services/user-repo.js"
import type { Statement } from "./rows.js"

export interface PendingRow {
  readonly id: string
  readonly phone_number: string
  readonly masked_phone_number: string
  readonly code_hash: string
  readonly attempts: number
  readonly expires_at: string
}

export const SELECT_PENDING = "SELECT id, phone_number, masked_phone_number, code_hash, attempts, expires_at " +
  "FROM pending_phone_changes WHERE organization_id = ? AND user_id = ?"

export const COUNT_ATTEMPT = "UPDATE pending_phone_changes SET attempts = attempts + 1 " +
  "WHERE organization_id = ? AND user_id = ? AND id = ?"

export const DISCARD_PENDING = "DELETE FROM pending_phone_changes WHERE organization_id = ? AND user_id = ? AND id = ?"

/** Served by users_phone_number_unique. */
export const SELECT_HOLDER = "SELECT id FROM users WHERE organization_id = ? AND phone_number = ?"

export const SELECT_CODE_DELIVERY = "SELECT url FROM code_delivery_endpoints WHERE organization_id = ?"

export const UPSERT_CODE_DELIVERY = "INSERT INTO code_delivery_endpoints (organization_id, url, updated_at) " +
  "VALUES (?, ?, ?) ON CONFLICT (organization_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at"

export const toPending = (row: PendingRow): PendingPhoneNumberChange => ({
  id: row.id,
  phoneNumber: row.phone_number as E164,
  maskedPhoneNumber: row.masked_phone_number as MaskedPhoneNumber,
  codeHash: row.code_hash,
  attempts: Number(row.attempts),
  expiresAt: row.expires_at
})

export const clearPending = (user: Pick<User, "organizationId" | "id">): Statement => ({
  sql: "DELETE FROM pending_phone_changes WHERE organization_id = ? AND user_id = ?",
  params: [user.organizationId, user.id]
})

// Expired changes of the organization go with its next request or confirm, so their numbers do not linger.
const sweepExpired = (organizationId: string, now: string): Statement => ({
  sql: "DELETE FROM pending_phone_changes WHERE organization_id = ? AND expires_at <= ?",
  params: [organizationId, now]
})

export const pendingStatements = ({ event, pending, state }: Change): ReadonlyArray<Statement> => {
  if (pending === undefined) return []
  const sweep = sweepExpired(state.organizationId, event.occurredAt)
  if (pending._tag === "Clear") return [sweep, clearPending(state)]
  const { change } = pending
  return [sweep, {
    sql: "INSERT INTO pending_phone_changes (organization_id, user_id, id, phone_number, masked_phone_number, " +
      "code_hash, attempts, expires_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT (organization_id, user_id) DO " +
      "UPDATE SET id = excluded.id, phone_number = excluded.phone_number, masked_phone_number = " +
      "excluded.masked_phone_number, code_hash = excluded.code_hash, attempts = 0, expires_at = excluded.expires_at",
    params: [
      state.organizationId,
      state.id,
      change.id,
      change.phoneNumber,
      change.maskedPhoneNumber,
      change.codeHash,
      change.expiresAt
    ]
  }]
}
