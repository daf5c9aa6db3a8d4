/**
 * All the services over SQL stores: UserRepo, EventLog and Idempotency (each statement on its organization's store,
 * shards.ts), Auth (jose + API keys, in the directory: the SqlClient provided), Masker.
 */
import { Layer } from "effect"
import { AuthLive } from "../auth/auth.js"
import type { JwtConfig } from "../auth/jwt.js"
import { MaskerLast4 } from "../masker.js"
import { SqlIdempotency } from "./idempotency-store.js"
import { SingleShard } from "./shards.js"
import { SqlStores } from "./stores.js"

/** Over the runtime's Shards (each organization's store) and the directory's SqlClient. */
export const shardedSqlServices = (jwt: JwtConfig) =>
  Layer.mergeAll(SqlStores, SqlIdempotency(), AuthLive(jwt), MaskerLast4)

/** Over one store for every organization (an SQLite file, one D1 database): its StoreDriver and SqlClient. */
export const sqlServices = (jwt: JwtConfig) => shardedSqlServices(jwt).pipe(Layer.provide(SingleShard))
