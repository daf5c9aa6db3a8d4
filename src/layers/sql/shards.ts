// Which store holds an organization (docs/DECISIONS.md, "Tenants across databases").
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
  readonly all: ReadonlyArray<Shard>
}>() {}

export const SingleShard = Layer.effect(
  Shards,
  Effect.gen(function*() {
    const shard: Shard = { driver: yield* StoreDriver, sql: yield* Sql.SqlClient }
    const found = Effect.succeed(shard)
    return { of: () => found, all: [shard] }
  })
)
