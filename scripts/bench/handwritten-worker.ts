/**
 * The hand-written baseline on Workers: handwritten-endpoint.ts's endpoint, without Effect and caching nothing, over
 * D1 as a Worker would write it by hand: the API key looked up on every request, then the user's row with its chain
 * head read and the row and its event written in one `batch()` with the service's statements. Settings from the
 * Worker's string bindings, as the service's (JWKS, JWT_ISSUER, JWT_AUDIENCE, JWT_ALGORITHMS).
 */
import { jwtConfigFromEnv, stringBindings } from "../../src/config.js"
import { SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"
import { type HandStore, makeHandle, SELECT_API_KEY } from "./handwritten-endpoint.js"

const d1Store = (db: D1Database): HandStore => ({
  organizationOfKey: async (hash) =>
    (await db.prepare(SELECT_API_KEY).bind(hash).first<{ organization_id: string }>())?.organization_id,
  update: async (organizationId, userId, change) => {
    const { result, statements } = change(await db.prepare(SELECT_USER).bind(organizationId, userId).first<UserRow>())
    if (statements.length > 0) await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)))
    return result
  }
})

type Env = { readonly DB: D1Database } & Record<string, unknown>

// Made on the isolate's first request, from its env (one per isolate, as the service's handler is).
let handle: ReturnType<typeof makeHandle> | undefined

export default {
  fetch: (request: Request, env: Env): Promise<Response> => {
    handle ??= makeHandle(jwtConfigFromEnv(stringBindings(env)), d1Store(env.DB))
    return handle(request)
  }
}
