/**
 * All the services over a SQL store: UserRepo, EventLog and Idempotency, Auth (jose + API keys in SQL), Masker.
 * Needs the runtime's StoreDriver (the request path's statements) and a SqlClient (everything else).
 */
import { Layer } from "effect"
import { AuthLive } from "../auth/auth.js"
import type { JwtConfig } from "../auth/jwt.js"
import { MaskerLast4 } from "../masker.js"
import { SqlIdempotency } from "./idempotency-store.js"
import { SqlStores } from "./stores.js"

export const sqlServices = (jwt: JwtConfig) => Layer.mergeAll(SqlStores, AuthLive(jwt), MaskerLast4, SqlIdempotency())
