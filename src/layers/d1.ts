/**
 * The services over Cloudflare D1 (@effect/sql-d1): the Workers runtime's store.
 * D1 has no transactions (@effect/sql-d1 refuses them), so the atomic write is one `D1Database.batch`,
 * which D1 runs all-or-nothing: a failing statement rolls back the ones before it.
 */
import { D1Client } from "@effect/sql-d1"
import { Effect, Layer } from "effect"
import type { JwtConfig } from "./auth/jwt.js"
import { AtomicWrite, classifyWriteError } from "./sql/atomic-write.js"
import { sqlServices } from "./sql/services.js"

/**
 * The row write and its event as one D1 batch. The plan (reading the audit chain's head) runs just before it,
 * outside the batch: a writer that raced in between makes a guard fire (trigger, unique key), which becomes a
 * VersionConflict and a retry against fresh state.
 */
export const AtomicWriteBatch = (db: D1Database) =>
  Layer.succeed(AtomicWrite, (plan, userId) =>
    Effect.flatMap(plan, (statements) =>
      Effect.tryPromise({
        try: () => db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params))),
        catch: classifyWriteError(userId)
      })).pipe(Effect.asVoid))

export const D1Live = (db: D1Database, jwt: JwtConfig) =>
  sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteBatch(db)),
    Layer.provideMerge(D1Client.layer({ db }))
  )
