import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import Database from "better-sqlite3"
import { Context, Layer } from "effect"
import type { JwtConfig } from "../auth/jwt.js"
import { waitingForLocks } from "../sql/lock-wait.js"
import type { PrepareOptions } from "../sql/migrate.js"
import { sqlServices } from "../sql/services.js"
import { type Connection, prepareSqliteFile, sqliteDriverLayer } from "./connection.js"

const open = (filename: string) => () => new Database(filename) as unknown as Connection

// tuneSqlite's synchronous = NORMAL does not carry over to the client's own connection.
const withConnectionPragmas = <E, R>(client: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, E, R>) =>
  Layer.tap(client, (context) => Context.get(context, SqlClient.SqlClient)`PRAGMA synchronous = NORMAL`)

export const prepareNodeSqliteFile = (filename: string, options: PrepareOptions = {}) =>
  prepareSqliteFile(filename, open(filename), options)

export const SqliteNodeDriver = (filename: string) => sqliteDriverLayer(open(filename))

export const SqliteNodeServices = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareNodeSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provideMerge(Layer.merge(
      SqliteNodeDriver(filename),
      waitingForLocks(withConnectionPragmas(SqliteClient.layer({ filename })))
    ))
  )
}
