/**
 * The services over Cloudflare D1: the Workers runtime's store. The request path's statements go to the
 * `D1Database` directly (a prepared statement for the read, one `batch()` for the atomic write: D1 has no
 * transactions, and runs a batch all-or-nothing, a failing statement rolling back the ones before it); everything
 * else through @effect/sql-d1. Nothing is shared between requests or isolates: every write stands on its guards
 * (the user's version and chain, migrations/0004), so isolates writing one organization never wait for each other.
 */
import { D1Client } from "@effect/sql-d1"
import { Effect, Layer } from "effect"
import type { JwtConfig } from "./auth/jwt.js"
import { classifyWriteError, StoreDriver, unavailable } from "./sql/driver.js"
import { sqlServices } from "./sql/services.js"

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

export const D1Services = (db: D1Database, jwt: JwtConfig) =>
  sqlServices(jwt).pipe(Layer.provideMerge(Layer.merge(D1Driver(db), D1Client.layer({ db }))))
