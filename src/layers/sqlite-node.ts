/**
 * The services over an SQLite file under Node (better-sqlite3 via @effect/sql-sqlite-node): the test runner's store.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import Database from "better-sqlite3"
import { Layer } from "effect"
import type { JwtConfig } from "./auth/jwt.js"
import { AuthLive } from "./auth/auth.js"
import { MaskerLast4 } from "../services/masker.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { applyMigrations, tuneSqlite } from "./sql/migrate.js"
import { SqlStores } from "./sql/stores.js"

/** Store, auth and masker over any SqlClient whose atomic write is a transaction. */
export const sqlServices = (jwt: JwtConfig) =>
  Layer.mergeAll(SqlStores, AuthLive(jwt), MaskerLast4).pipe(Layer.provide(AtomicWriteTransaction))

export const prepareSqliteFile = (filename: string) => {
  const db = new Database(filename)
  try {
    tuneSqlite(db)
    applyMigrations(db)
  } finally {
    db.close()
  }
}

export const SqliteNodeLive = (filename: string, jwt: JwtConfig) => {
  prepareSqliteFile(filename)
  return sqlServices(jwt).pipe(Layer.provideMerge(SqliteClient.layer({ filename })))
}
