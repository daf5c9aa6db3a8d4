/**
 * AtomicWrite: run a few SQL statements as one all-or-nothing unit. SQLite files use a transaction;
 * D1 has none and uses `D1Database.batch` (see ../d1.ts). Both report a fired concurrency guard the same way.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { StoreUnavailable, VersionConflict } from "../../app/errors.js"

export interface Statement {
  readonly sql: string
  readonly params: ReadonlyArray<string | number | null>
}

export class AtomicWrite extends Context.Tag("users-api/AtomicWrite")<
  AtomicWrite,
  (statements: ReadonlyArray<Statement>, userId: string) => Effect.Effect<void, VersionConflict | StoreUnavailable>
>() {}

// The guards of migrations/0001: the (organization, aggregate, version) key, the users primary key on create,
// and the trigger that ties an event's version to its row's.
const GUARDS = [
  /UNIQUE constraint failed: events\.organization_id, events\.aggregate_id, events\.version/,
  /UNIQUE constraint failed: users\.organization_id, users\.id/,
  /event version does not match the user row/
]

const messageOf = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; current != null && depth < 5; depth++) {
    if (current instanceof Error) parts.push(current.message)
    else if (typeof current === "object" && "message" in current) parts.push(String(current.message))
    current = typeof current === "object" && "cause" in current ? current.cause : undefined
  }
  return parts.join(" | ")
}

export const classifyWriteError = (userId: string) => (error: unknown): VersionConflict | StoreUnavailable =>
  GUARDS.some((guard) => guard.test(messageOf(error)))
    ? new VersionConflict({ userId })
    : new StoreUnavailable({ cause: error })

/** A transaction through @effect/sql, for SQLite files (Node, Bun, Deno). */
export const AtomicWriteTransaction = Layer.effect(
  AtomicWrite,
  Effect.map(SqlClient.SqlClient, (sql) => (statements, userId) =>
    sql.withTransaction(
      Effect.forEach(statements, (s) => sql.unsafe(s.sql, s.params as Array<string | number | null>), {
        discard: true
      })
    ).pipe(Effect.mapError(classifyWriteError(userId))))
)
