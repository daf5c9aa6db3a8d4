/**
 * The services over an SQLite file under Deno (node:sqlite via ./sqlite-deno/client.ts): `npm run start:deno`'s store.
 */
/// <reference path="./sqlite-deno/node-sqlite.d.ts" />
import { Layer } from "effect"
import { DatabaseSync } from "node:sqlite"
import type { JwtConfig } from "./auth/jwt.js"
import * as SqliteDenoClient from "./sqlite-deno/client.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { applyMigrations, tuneSqlite } from "./sql/migrate.js"
import { sqlServices } from "./sql/services.js"

export interface PrepareOptions {
  /** Idempotent SQL run after the migrations, e.g. the local demo tenant (src/dev/state.ts `devSeedSql`). */
  readonly seedSql?: string
}

/**
 * Creates the file if needed, tunes it, applies pending migrations and runs the seed, synchronously,
 * before the server takes requests. node:sqlite's `exec` runs multi-statement SQL, triggers included.
 */
export const prepareDenoSqliteFile = (filename: string, options: PrepareOptions = {}) => {
  const db = new DatabaseSync(filename)
  try {
    tuneSqlite(db)
    applyMigrations(db)
    if (options.seedSql !== undefined) db.exec(options.seedSql)
  } finally {
    db.close()
  }
}

export const SqliteDenoLive = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareDenoSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteTransaction),
    Layer.provideMerge(SqliteDenoClient.layer({ filename }))
  )
}
