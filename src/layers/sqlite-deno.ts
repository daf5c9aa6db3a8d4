/**
 * The services over an SQLite file under Deno (node:sqlite via ./sqlite-deno/client.ts): `npm run start:deno`'s store.
 */
/// <reference path="./sqlite-deno/node-sqlite.d.ts" />
import { Layer } from "effect"
import { DatabaseSync } from "node:sqlite"
import type { JwtConfig } from "./auth/jwt.js"
import * as SqliteDenoClient from "./sqlite-deno/client.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { prepareSqlite, type PrepareOptions } from "./sql/migrate.js"
import { sqlServices } from "./sql/services.js"

/** Creates the file if needed and readies it (migrate.ts `prepareSqlite`). */
export const prepareDenoSqliteFile = (filename: string, options: PrepareOptions = {}) =>
  prepareSqlite(new DatabaseSync(filename), options)

export const SqliteDenoLive = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareDenoSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteTransaction),
    Layer.provideMerge(SqliteDenoClient.layer({ filename }))
  )
}
