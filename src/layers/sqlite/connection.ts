// Shared by the three SQLite layers.
import { Effect, Layer } from "effect"
import { sqliteDriver, StoreDriver, type SyncSqlite } from "../sql/driver.js"
import { BUSY_TIMEOUT_MS } from "../sql/lock-wait.js"
import {
  makePrivateDatabaseFile,
  type PrepareOptions,
  prepareSqlite,
  type RawSqlite,
  tuneSqlite
} from "../sql/migrate.js"

export type Connection = SyncSqlite & RawSqlite & { close(): unknown }

export const prepareSqliteFile = (filename: string, open: () => Connection, options: PrepareOptions = {}) => {
  makePrivateDatabaseFile(filename)
  prepareSqlite(open(), options)
}

export const sqliteDriverLayer = (open: () => Connection) =>
  Layer.scoped(
    StoreDriver,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => {
          const db = open()
          tuneSqlite(db)
          // Serving: locks are waited for between attempts (../sql/lock-wait.ts), not inside the call.
          db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
          return db
        }),
        (db) => Effect.sync(() => db.close())
      ),
      sqliteDriver
    )
  )
