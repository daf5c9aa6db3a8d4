/**
 * The bare D1 write of the Workers baselines (bare-worker.ts, and both sides of the scale bench's Durable Object hop,
 * do-hop-worker.ts): the service's write for `POST /users/{id}/UpdatePhoneNumber` and nothing else: no auth, no
 * validation, no Effect. It reads the user's row with its chain head in one query (src/layers/sql/rows.ts
 * SELECT_USER), links the event (src/audit/chain.ts), and writes the users row and the event in one `batch()` with the
 * service's own statements. The database's guards reject a write that lost a race. (Its own module: a Worker's main
 * module may export only handlers.)
 */
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { User } from "../../src/domain/user.js"
import { changeStatements, SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"

export const ORGANIZATION_ID = "org_bench"

export interface WriteResult {
  readonly status: 200 | 404
  /** The event written (200 only). */
  readonly eventId?: string
}

/** Sets the user's number: the read, the link and the batch, after the organization's earlier writes. */
export const writeUser = (db: D1Database, organizationId: string, userId: string, phoneNumber: E164) =>
  (async (): Promise<WriteResult> => {
    const row = await db.prepare(SELECT_USER).bind(organizationId, userId).first<UserRow>()
    if (row === null) return { status: 404 }
    const now = new Date().toISOString()
    const state: User = {
      organizationId,
      id: userId,
      phoneNumber,
      phoneNumberVerified: false,
      erasedAt: null,
      version: row.version + 1
    }
    const event: UserPhoneNumberUpdated = {
      id: crypto.randomUUID(),
      type: "UserPhoneNumberUpdated",
      aggregateType: "User",
      aggregateId: userId,
      version: state.version,
      occurredAt: now,
      data: {
        maskedPhoneNumber: maskPhoneNumber(phoneNumber),
        previousMaskedPhoneNumber: maskPhoneNumber(row.phone_number as E164 | null),
        phoneNumberVerified: false
      },
      metadata: { organizationId, actor: { type: "service", id: "bare" }, requestId: "bare" }
    }
    const previousHash = row.head_hash ?? GENESIS_HASH
    const statements = changeStatements({ state, event, previousHash }, nextLink(previousHash, event))
    await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))
    return { status: 200, eventId: event.id }
  })()
