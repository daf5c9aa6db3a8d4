/**
 * What the three SQLite layers share: the file readied before the server serves (0600, migrations, seed), and the
 * StoreDriver's own connection to it, open for the layer's life with the server's connection settings.
 */
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

/** Creates the file if needed (0600) and readies it with `open`'s connection, which is closed after. */
export const prepareSqliteFile = (filename: string, open: () => Connection, options: PrepareOptions = {}) => {
  makePrivateDatabaseFile(filename)
  prepareSqlite(open(), options)
}

/** The StoreDriver over a connection of its own; its statements are finalized and it is closed with the layer. */
export const sqliteDriverLayer = (open: () => Connection) =>
  Layer.scoped(
    StoreDriver,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => {
          const db = open()
          tuneSqlite(db)
          // Serving: a lock is waited for between attempts (../sql/lock-wait.ts), not inside the call.
          db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
          return db
        }),
        (db) => Effect.sync(() => db.close())
      ),
      sqliteDriver
    )
  )
