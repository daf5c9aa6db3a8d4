/**
 * The services over an SQLite file under Deno (node:sqlite via ./sqlite-deno/client.ts): `npm run start:deno`'s store.
 */
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- node:sqlite types for Deno (no @types package)
/// <reference path="./sqlite-deno/node-sqlite.d.ts" />
import { Layer } from "effect"
import { DatabaseSync } from "node:sqlite"
import type { JwtConfig } from "./auth/jwt.js"
import { AtomicWriteTransaction } from "./sql/atomic-write.js"
import { makePrivateDatabaseFile, type PrepareOptions, prepareSqlite } from "./sql/migrate.js"
import { sqlServices } from "./sql/services.js"
import * as SqliteDenoClient from "./sqlite-deno/client.js"

/** Creates the file if needed (0600) and readies it (migrate.ts `prepareSqlite`). */
export const prepareDenoSqliteFile = (filename: string, options: PrepareOptions = {}) => {
  makePrivateDatabaseFile(filename)
  prepareSqlite(new DatabaseSync(filename), options)
}

export const SqliteDenoLive = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareDenoSqliteFile(filename, options)
  return sqlServices(jwt).pipe(
    Layer.provide(AtomicWriteTransaction),
    Layer.provideMerge(SqliteDenoClient.layer({ filename }))
  )
}
