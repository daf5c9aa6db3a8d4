/**
 * The Workers baseline: the service's D1 write for `POST /users/{id}/UpdatePhoneNumber` and nothing else: no
 * auth, no validation, no Effect. It reads the user's version and the chain head in one query, links the event
 * (src/audit/chain.ts), and writes the users row and the event in one `batch()` with the service's own
 * statements (src/layers/sql/rows.ts). Writes of the one organization are serialized in the isolate, as any
 * correct writer of a hash chain must be; the database's guards still reject a stale head.
 */
import { nextLink } from "../../src/audit/chain.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { User, UserPhoneNumberUpdated } from "../../src/domain/user.js"
import { changeStatements } from "../../src/layers/sql/rows.js"

interface Env {
  readonly DB: D1Database
}

const ORGANIZATION_ID = "org_bench"

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

let tail: Promise<unknown> = Promise.resolve()
const serialized = <A>(task: () => Promise<A>): Promise<A> => {
  const result = tail.then(task)
  tail = result.catch(() => undefined)
  return result
}

const write = (db: D1Database, userId: string, phoneNumber: E164) =>
  serialized(async () => {
    const row = await db.prepare(READ).bind(ORGANIZATION_ID, userId).first<ReadRow>()
    if (row === null) return 404
    const now = new Date().toISOString()
    const state: User = {
      organizationId: ORGANIZATION_ID,
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
      metadata: { organizationId: ORGANIZATION_ID, actor: { type: "service", id: "bare" }, requestId: "bare" }
    }
    const link = await nextLink({ sequence: row.head_sequence, hash: row.head_hash }, event)
    await db.batch(changeStatements({ state, event }, link).map((s) => db.prepare(s.sql).bind(...s.params)))
    return 200
  })

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method === "GET") return new Response("ok")
    const userId = new URL(request.url).pathname.split("/")[2] ?? ""
    const { phoneNumber } = (await request.json()) as { phoneNumber: E164 }
    try {
      const status = await write(env.DB, userId, phoneNumber)
      return Response.json({ success: status === 200 }, { status })
    } catch (error) {
      return Response.json({ success: false, error: String(error) }, { status: 500 })
    }
  }
}
