/**
 * The services over Cloudflare D1: the Workers runtime's store. The request path's statements go to the
 * `D1Database` directly (a prepared statement for the read, one `batch()` for the atomic write: D1 has no
 * transactions, and runs a batch all-or-nothing, a failing statement rolling back the ones before it); everything
 * else through @effect/sql-d1. Nothing is shared between requests or isolates: every write stands on its guards
 * (the user's version and chain, migrations/0004), so isolates writing one organization never wait for each other.
 *
 * Tenants across databases (migrations/0005): the first database (binding DB) is the directory — organizations and
 * API keys — and shard 0; DB_1, DB_2, … are shards 1, 2, …. An organization's users, events, checkpoints and
 * idempotency keys are on the shard the directory names, looked up once per organization per SHARD_TTL_MS.
 */
import { SqlClient } from "@effect/sql"
import { D1Client } from "@effect/sql-d1"
import { Context, Effect, Layer } from "effect"
import { StoreUnavailable } from "../services/errors.js"
import type { JwtConfig } from "./auth/jwt.js"
import { makeExpiringCache } from "./expiring-cache.js"
import { classifyWriteError, StoreDriver, unavailable } from "./sql/driver.js"
import { shardedSqlServices } from "./sql/services.js"
import { type Shard, Shards } from "./sql/shards.js"

export const d1Driver = (db: D1Database): StoreDriver["Type"] => {
  const prepared = new Map<string, D1PreparedStatement>()
  const statement = (sql: string) => {
    let found = prepared.get(sql)
    if (found === undefined) prepared.set(sql, found = db.prepare(sql))
    return found
  }
  return {
    get: <R>(sql: string, params: ReadonlyArray<string | number | null>) =>
      Effect.tryPromise({
        try: () => statement(sql).bind(...params).first<R>().then((row) => row ?? undefined),
        catch: unavailable
      }),
    write: (statements, userId) =>
      Effect.tryPromise({
        try: () => db.batch(statements.map((s) => statement(s.sql).bind(...s.params))),
        catch: classifyWriteError(userId)
      })
  }
}

/** The request path's statements on `db` directly. */
export const D1Driver = (db: D1Database) => Layer.succeed(StoreDriver, d1Driver(db))

/**
 * How long an isolate keeps an organization's shard. Moving an organization waits this long after its writes stop
 * (docs/PRODUCTION.md); the lookup itself is one indexed read of the directory.
 */
export const SHARD_TTL_MS = 60_000
const MAX_CACHED_ORGANIZATIONS = 10_000
const SELECT_SHARD = "SELECT shard FROM organizations WHERE id = ?"

/**
 * Which store holds an organization: shard 0 is the directory (the StoreDriver and SqlClient provided), shard N the
 * N-th of `shards`; the directory's organizations table says which (an organization it does not know has no data
 * anywhere, and shard 0 answers that it is not found).
 */
export const D1Shards = (directory: D1Database, shards: ReadonlyArray<D1Database>) =>
  Layer.scoped(
    Shards,
    Effect.gen(function*() {
      const all: Array<Shard> = [{ driver: yield* StoreDriver, sql: yield* SqlClient.SqlClient }]
      for (const db of shards) {
        const context = yield* Layer.build(D1Client.layer({ db }))
        all.push({ driver: d1Driver(db), sql: Context.get(context, SqlClient.SqlClient) })
      }
      const [directoryShard] = all as [Shard]
      if (all.length === 1) return { of: () => Effect.succeed(directoryShard), all }

      const lookup = directory.prepare(SELECT_SHARD)
      const cached = makeExpiringCache<Shard>({
        capacity: MAX_CACHED_ORGANIZATIONS,
        keepUntil: (_, readAt) => readAt + SHARD_TTL_MS
      })
      const resolve = (organizationId: string) =>
        Effect.flatMap(
          Effect.tryPromise({
            try: () => lookup.bind(organizationId).first<{ shard: number | null }>(),
            catch: unavailable
          }),
          (row) => {
            // While it is moved (docs/PRODUCTION.md) an organization has no shard: its requests wait (503) and
            // none of them writes to the shard it is leaving; a failure is not kept, so it is served again at once.
            if (row !== null && row.shard === null) {
              return Effect.fail(new StoreUnavailable({ cause: `organization ${organizationId} is being moved` }))
            }
            const index = row?.shard ?? 0
            const shard = all[index]
            if (shard === undefined) {
              const cause = `organization ${organizationId} is on shard ${index}, and no DB_${index} is bound`
              return Effect.fail(new StoreUnavailable({ cause }))
            }
            return Effect.succeed(shard)
          }
        )
      return {
        of: (organizationId) => cached.get(organizationId, () => resolve(organizationId)),
        all
      }
    })
  )

/**
 * Every service over D1: `directory` holds the organizations and API keys (Auth) and is shard 0; `shards` are
 * shards 1, 2, …. Without shards the directory is the whole store.
 */
export const D1Services = (directory: D1Database, jwt: JwtConfig, shards: ReadonlyArray<D1Database> = []) =>
  shardedSqlServices(jwt).pipe(
    Layer.provideMerge(D1Shards(directory, shards)),
    Layer.provideMerge(Layer.merge(D1Driver(directory), D1Client.layer({ db: directory })))
  )
