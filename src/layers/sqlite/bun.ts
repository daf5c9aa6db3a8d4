import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-bun"
import { Database } from "bun:sqlite"
import { Context, Effect, Layer } from "effect"
import type { JwtConfig } from "../auth/jwt.js"
import { waitingForLocks } from "../sql/lock-wait.js"
import type { PrepareOptions } from "../sql/migrate.js"
import { sqlServices } from "../sql/services.js"
import { prepareSqliteFile, sqliteDriverLayer } from "./connection.js"

const open = (filename: string) => () => new Database(filename, { create: true, readwrite: true })

// @effect/sql-sqlite-bun sets WAL before anything else; it is set here after busy_timeout instead, so it waits for a
// lock rather than failing.
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

export const prepareBunSqliteFile = (filename: string, options: PrepareOptions = {}) =>
  prepareSqliteFile(filename, open(filename), options)

export const SqliteBunServices = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareBunSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provideMerge(Layer.merge(
      sqliteDriverLayer(open(filename)),
      waitingForLocks(withConnectionPragmas(SqliteClient.layer({ filename, disableWAL: true })))
    ))
  )
}
