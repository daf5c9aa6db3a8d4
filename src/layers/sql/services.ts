/**
 * All the services over a SQL store: UserRepo, EventLog and Idempotency (SQL), Auth (jose + API keys in SQL), Masker.
 * Needs a SqlClient and the runtime's AtomicWrite (a transaction on SQLite files, a batch on D1).
 */
import { Layer } from "effect"
import { MaskerLast4 } from "../../services/masker.js"
import { AuthLive } from "../auth/auth.js"
import type { JwtConfig } from "../auth/jwt.js"
import { SqlIdempotency } from "./idempotency-store.js"
import { SqlStores } from "./stores.js"

export const sqlServices = (jwt: JwtConfig) => Layer.mergeAll(SqlStores, AuthLive(jwt), MaskerLast4, SqlIdempotency())
