/**
 * The hand-written endpoint's store on D1 (handwritten-worker.ts, handwritten-cached-httpapi-worker.ts), as a Worker
 * would write it by hand: the API key looked up by its hash, then the user's row with its chain head read and the row
 * and its event written in one `batch()` with the service's statements (the bare Worker's write, bare-write.ts, with
 * the whole endpoint in front of it). (Its own module: a Worker's main module may export only handlers.)
 */
import { SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"
import { type HandStore, SELECT_API_KEY } from "./handwritten-endpoint.js"

export const d1Store = (db: D1Database): HandStore => ({
  organizationOfKey: async (hash) =>
    (await db.prepare(SELECT_API_KEY).bind(hash).first<{ organization_id: string }>())?.organization_id,
  update: async (organizationId, userId, change) => {
    const { result, statements } = change(await db.prepare(SELECT_USER).bind(organizationId, userId).first<UserRow>())
    if (statements.length > 0) await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))
    return result
  }
})
