/**
 * The services over an SQLite file under Node (better-sqlite3 via @effect/sql-sqlite-node): the test runner's store.
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import Database from "better-sqlite3"
import { Context, Layer } from "effect"
import type { JwtConfig } from "./auth/jwt.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { prepareSqlite } from "./sql/migrate.js"
import { sqlServices } from "./sql/services.js"

/** Creates the file if needed and readies it (migrate.ts `prepareSqlite`). */
export const prepareSqliteFile = (filename: string) => prepareSqlite(new Database(filename))

// As on Bun and Deno: tuneSqlite's synchronous = NORMAL does not carry over to the client's own connection.
const withConnectionPragmas = <E, R>(client: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient, E, R>) =>
  Layer.tap(client, (context) => Context.get(context, SqlClient.SqlClient)`PRAGMA synchronous = NORMAL`)

export const SqliteNodeLive = (filename: string, jwt: JwtConfig) => {
  prepareSqliteFile(filename)
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteTransaction),
    Layer.provideMerge(withConnectionPragmas(SqliteClient.layer({ filename })))
  )
}
