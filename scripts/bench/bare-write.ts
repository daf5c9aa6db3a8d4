/**
 * The bare D1 write of the Workers baselines (bare-worker.ts, and both sides of the scale bench's Durable Object hop,
 * do-hop-worker.ts): the service's write for `POST /users/{id}/UpdatePhoneNumber` and nothing else: no auth, no
 * validation, no Effect. It reads the user's version and the chain head in one query, links the event
 * (src/audit/chain.ts), and writes the users row and the event in one `batch()` with the service's own statements
 * (src/layers/sql/rows.ts). Writes of an organization are serialized in the isolate, as any correct writer of a hash
 * chain must be; the database's guards still reject a stale head. (Its own module: a Worker's main module may export
 * only handlers.)
 */
import { nextLink } from "../../src/audit/chain.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { User, UserPhoneNumberUpdated } from "../../src/domain/user.js"
import { changeStatements } from "../../src/layers/sql/rows.js"

export const ORGANIZATION_ID = "org_bench"

const READ = "SELECT version, phone_number, " +
  "(SELECT chain_sequence FROM events WHERE organization_id = ?1 ORDER BY chain_sequence DESC LIMIT 1) AS head_sequence, " +
  "(SELECT hash FROM events WHERE organization_id = ?1 ORDER BY chain_sequence DESC LIMIT 1) AS head_hash " +
  "FROM users WHERE organization_id = ?1 AND id = ?2"

interface ReadRow {
  readonly version: number
  readonly phone_number: string | null
  readonly head_sequence: number
  readonly head_hash: string
}

// A first-come, first-served queue per organization; an entry lives while a write of it is queued or running.
const tails = new Map<string, Promise<unknown>>()
const serialized = <A>(key: string, task: () => Promise<A>): Promise<A> => {
  const result = (tails.get(key) ?? Promise.resolve()).then(task)
  const tail = result.catch(() => undefined)
  tails.set(key, tail)
  void tail.then(() => tails.get(key) === tail && tails.delete(key))
  return result
}

export interface WriteResult {
  readonly status: 200 | 404
  /** The event written (200 only). */
  readonly eventId?: string
}

/** Sets the user's number: the read, the link and the batch, after the organization's earlier writes. */
export const writeUser = (db: D1Database, organizationId: string, userId: string, phoneNumber: E164) =>
  serialized(organizationId, async (): Promise<WriteResult> => {
    const row = await db.prepare(READ).bind(organizationId, userId).first<ReadRow>()
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
    const link = await nextLink({ sequence: row.head_sequence, hash: row.head_hash }, event)
    await db.batch(changeStatements({ state, event }, link).map((s) => db.prepare(s.sql).bind(...s.params)))
    return { status: 200, eventId: event.id }
  })
