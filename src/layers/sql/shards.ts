/**
 * Shards: which store holds an organization's users, events, checkpoints and idempotency keys. An SQLite file is one
 * store for every organization; on Cloudflare an organization lives in one of several D1 databases, which the
 * directory says (../d1.ts, migrations/0005). Each store is the request path's StoreDriver and a SqlClient for the
 * rest; the stores of this folder ask for an organization's before every statement.
 */
import type { SqlClient } from "@effect/sql"
import { SqlClient as Sql } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import type { StoreUnavailable } from "../../services/errors.js"
import { StoreDriver } from "./driver.js"

export interface Shard {
  readonly driver: StoreDriver["Type"]
  readonly sql: SqlClient.SqlClient
}

export class Shards extends Context.Tag("users-api/Shards")<Shards, {
  readonly of: (organizationId: string) => Effect.Effect<Shard, StoreUnavailable>
  /** Every store, for work that visits every organization (the checkpointer). */
  readonly all: ReadonlyArray<Shard>
}>() {}

/** One store for every organization: the StoreDriver and SqlClient provided. */
export const SingleShard = Layer.effect(
  Shards,
  Effect.gen(function*() {
    const shard: Shard = { driver: yield* StoreDriver, sql: yield* Sql.SqlClient }
    const found = Effect.succeed(shard)
    return { of: () => found, all: [shard] }
  })
)
