/**
 * The Workers baseline of `npm run bench`: the service's D1 write for `POST /users/{id}/UpdatePhoneNumber` and nothing
 * else: no auth, no validation, no Effect. It reads the user's row with its chain head in one query (src/layers/sql/
 * rows.ts SELECT_USER), links the event (src/audit/chain.ts), and writes the users row and the event in one `batch()`
 * with the service's own statements; the database's guards reject a write that lost a race. The organization is the
 * var ORGANIZATION_ID (a Worker's main module exports only handlers, so the bench cannot import it from here).
 */
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { User } from "../../src/domain/user.js"
import { changeStatements, SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"

interface Env {
  readonly DB: D1Database
  readonly ORGANIZATION_ID: string
}

interface WriteResult {
  readonly status: 200 | 404
  /** The event written (200 only). */
  readonly eventId?: string
}

/** Sets the user's number: the read, the link and the batch, after the organization's earlier writes. */
const writeUser = (db: D1Database, organizationId: string, userId: string, phoneNumber: E164) =>
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

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method === "GET") return new Response("ok")
    const userId = new URL(request.url).pathname.split("/")[2] ?? ""
    const { phoneNumber } = (await request.json()) as { phoneNumber: E164 }
    try {
      const { status } = await writeUser(env.DB, env.ORGANIZATION_ID, userId, phoneNumber)
      return Response.json({ success: status === 200 }, { status })
    } catch (error) {
      return Response.json({ success: false, error: String(error) }, { status: 500 })
    }
  }
}
