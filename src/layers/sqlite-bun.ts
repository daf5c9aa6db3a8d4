/**
 * The services over an SQLite file under Bun (bun:sqlite via @effect/sql-sqlite-bun): `npm start`'s store.
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-bun"
import { Database } from "bun:sqlite"
import { Context, Effect, Layer } from "effect"
import type { JwtConfig } from "./auth/jwt.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { makePrivateDatabaseFile, type PrepareOptions, prepareSqlite } from "./sql/migrate.js"
import { sqlServices } from "./sql/services.js"

/** Creates the file if needed (0600) and readies it (migrate.ts `prepareSqlite`). */
export const prepareBunSqliteFile = (filename: string, options: PrepareOptions = {}) => {
  makePrivateDatabaseFile(filename)
  prepareSqlite(new Database(filename, { create: true, readwrite: true }), options)
}

// Pragmas other than journal_mode belong to a connection, and @effect/sql-sqlite-bun sets only WAL on its one
// connection: without a busy timeout, a write racing another process (dev:credentials seeding) fails at once;
// foreign keys are on as they are under better-sqlite3; synchronous is NORMAL, as migrate.ts's tuneSqlite intends
// for the file (that setting does not carry over to this connection): in WAL mode a crash of the process loses no
// commit and the file stays consistent; FULL's fsync on every commit (the default) held each write for an fsync.
// The client's own journal_mode pragma (run before any of these) is turned off, and set here after busy_timeout,
// so that it too waits for a lock rather than failing with "database is locked".
const withConnectionPragmas = <E, R>(client: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, E, R>) =>
  Layer.tap(client, (context) => {
    const sql = Context.get(context, SqlClient.SqlClient)
    return Effect.all(
      [
        sql`PRAGMA busy_timeout = 5000`,
        sql`PRAGMA journal_mode = WAL`,
        sql`PRAGMA foreign_keys = ON`,
        sql`PRAGMA synchronous = NORMAL`
      ],
      { discard: true }
    )
  })

export const SqliteBunLive = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareBunSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteTransaction),
    Layer.provideMerge(withConnectionPragmas(SqliteClient.layer({ filename, disableWAL: true })))
  )
}
