// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- node:sqlite types for Deno (no @types package)
/// <reference path="./node-sqlite.d.ts" />
import { Layer } from "effect"
import { DatabaseSync } from "node:sqlite"
import type { JwtConfig } from "../auth/jwt.js"
import { waitingForLocks } from "../sql/lock-wait.js"
import type { PrepareOptions } from "../sql/migrate.js"
import { sqlServices } from "../sql/services.js"
import { prepareSqliteFile, sqliteDriverLayer } from "./connection.js"
import * as SqliteDenoClient from "./deno-client.js"

const open = (filename: string) => () => new DatabaseSync(filename)

export const SqliteDenoServices = (filename: string, jwt: JwtConfig, options: PrepareOptions = {}) => {
  prepareSqliteFile(filename, open(filename), options)
  return sqlServices(jwt).pipe(
    Layer.provideMerge(
      Layer.merge(sqliteDriverLayer(open(filename)), waitingForLocks(SqliteDenoClient.layer({ filename })))
    )
  )
}
