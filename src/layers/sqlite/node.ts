/**
 * The services over an SQLite file under Node (better-sqlite3): the test runner's store. The request path's
 * statements run on better-sqlite3 directly (../sql/driver.ts); everything else through @effect/sql-sqlite-node.
 */
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

/** Creates the file if needed (0600) and readies it: migrations, and the seed if any. */
export const prepareNodeSqliteFile = (filename: string, options: PrepareOptions = {}) =>
  prepareSqliteFile(filename, open(filename), options)

/** The request path's statements on a better-sqlite3 connection of their own (../sql/driver.ts). */
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
