// The atomic write is one `batch()`, all-or-nothing. DB is the directory and shard 0, DB_1, … the other shards
// (docs/DECISIONS.md, "Tenants across databases").
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

export const D1Driver = (db: D1Database) => Layer.succeed(StoreDriver, d1Driver(db))

/** How long an isolate keeps an organization's shard: a move waits this long after its writes stop. */
export const SHARD_TTL_MS = 60_000
const MAX_CACHED_ORGANIZATIONS = 10_000
const SELECT_SHARD = "SELECT shard FROM organizations WHERE id = ?"

// An organization unknown to the directory has no data: shard 0 answers not found.
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
            // While moved it has no shard: a 503, never a write to the shard it leaves; failures are not kept.
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

/** Without shards the directory is the whole store. */
export const D1Services = (directory: D1Database, jwt: JwtConfig, shards: ReadonlyArray<D1Database> = []) =>
  shardedSqlServices(jwt).pipe(
    Layer.provideMerge(D1Shards(directory, shards)),
    Layer.provideMerge(Layer.merge(D1Driver(directory), D1Client.layer({ db: directory })))
  )
