/**
 * The services over an SQLite file under Bun (bun:sqlite via @effect/sql-sqlite-bun): `npm start`'s store.
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-bun"
import { Database } from "bun:sqlite"
import { Context, Effect, Layer } from "effect"
import type { JwtConfig } from "./auth/jwt.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { applyMigrations, tuneSqlite } from "./sql/migrate.js"
import { sqlServices } from "./sql/services.js"

export interface PrepareOptions {
  /** Idempotent SQL run after the migrations, e.g. the local demo tenant (src/dev/state.ts `devSeedSql`). */
  readonly seedSql?: string
}

/**
 * Creates the file if needed, tunes it, applies pending migrations and runs the seed, synchronously,
 * before the server takes requests. bun:sqlite's `exec` runs multi-statement SQL, triggers included.
 */
export const prepareBunSqliteFile = (filename: string, options: PrepareOptions = {}) => {
  const db = new Database(filename, { create: true, readwrite: true })
  try {
    tuneSqlite(db)
    applyMigrations(db)
    if (options.seedSql !== undefined) db.exec(options.seedSql)
  } finally {
    db.close()
  }
}

// Pragmas other than journal_mode belong to a connection, and @effect/sql-sqlite-bun sets only WAL on its one
// connection: without a busy timeout, a write racing another process (dev:credentials seeding) fails at once;
// foreign keys are on as they are under better-sqlite3; synchronous is NORMAL, as migrate.ts's tuneSqlite intends
// for the file (that setting does not carry over to this connection): in WAL mode a crash of the process loses no
// commit and the file stays consistent; FULL's fsync on every commit (the default) held each write for an fsync.
const withConnectionPragmas = <E, R>(client: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, E, R>) =>
  Layer.tap(client, (context) => {
    const sql = Context.get(context, SqlClient.SqlClient)
    return Effect.all(
      [sql`PRAGMA busy_timeout = 5000`, sql`PRAGMA foreign_keys = ON`, sql`PRAGMA synchronous = NORMAL`],
      { discard: true }
    )
  })

export const SqliteBunLive = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareBunSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteTransaction),
    Layer.provideMerge(withConnectionPragmas(SqliteClient.layer({ filename })))
  )
}
