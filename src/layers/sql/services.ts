// Auth reads API keys through the provided (directory's) SqlClient.
import { Layer } from "effect"
import { AuthLive } from "../auth/auth.js"
import type { JwtConfig } from "../auth/jwt.js"
import { MaskerLast4 } from "../masker.js"
import { SqlIdempotency } from "./idempotency-store.js"
import { SqlPhonePolicies } from "./phone-policy-store.js"
import { SingleShard } from "./shards.js"
import { SqlStores } from "./stores.js"
import { SqlUserLookup } from "./user-lookup-store.js"

export const shardedSqlServices = (jwt: JwtConfig) =>
  Layer.mergeAll(SqlStores, SqlIdempotency(), AuthLive(jwt), MaskerLast4, SqlPhonePolicies, SqlUserLookup)

/** One store for every organization (an SQLite file, one D1 database). */
export const sqlServices = (jwt: JwtConfig) => shardedSqlServices(jwt).pipe(Layer.provide(SingleShard))
