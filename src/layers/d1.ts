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

/** The row write and its event as one D1 batch; a fired guard (trigger, unique key) becomes a VersionConflict. */
export const AtomicWriteBatch = (db: D1Database) =>
  Layer.succeed(AtomicWrite, (statements, userId) =>
    Effect.tryPromise({
      try: () => db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params))),
      catch: classifyWriteError(userId)
    }).pipe(Effect.asVoid))

export const D1Live = (db: D1Database, jwt: JwtConfig) =>
  sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteBatch(db)),
    Layer.provideMerge(D1Client.layer({ db }))
  )
