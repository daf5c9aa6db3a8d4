/**
 * AtomicWrite: plan a few SQL statements (reading what the plan needs, e.g. the audit chain's head) and run
 * them as one all-or-nothing unit. SQLite files read and write inside one transaction; D1 has no transactions,
 * so it reads first and writes with `D1Database.batch` (../d1.ts), relying on the guards below when a
 * concurrent writer got there in between. Both report a fired guard the same way.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { PhoneNumberInUse, StoreUnavailable, VersionConflict } from "../../app/errors.js"

export interface Statement {
  readonly sql: string
  readonly params: ReadonlyArray<string | number | null>
}

export type WriteError = VersionConflict | PhoneNumberInUse | StoreUnavailable

export class AtomicWrite extends Context.Tag("users-api/AtomicWrite")<
  AtomicWrite,
  (plan: Effect.Effect<ReadonlyArray<Statement>, StoreUnavailable>, userId: string) => Effect.Effect<void, WriteError>
>() {}

// The guards of migrations/0001: a lost race on the user's version or on the organization's audit chain
// (retry against fresh state), and a number that another user of the organization holds (no retry).
const RACES = [
  /UNIQUE constraint failed: events\.organization_id, events\.aggregate_id, events\.version/,
  /UNIQUE constraint failed: events\.organization_id, events\.chain_sequence/,
  /UNIQUE constraint failed: users\.organization_id, users\.id/,
  /event version does not match the user row/,
  /event does not extend the audit chain/
]
const NUMBER_TAKEN = /UNIQUE constraint failed: users\.organization_id, users\.phone_number/

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

export const classifyWriteError = (userId: string) => (error: unknown): WriteError => {
  if (error instanceof VersionConflict || error instanceof PhoneNumberInUse || error instanceof StoreUnavailable) {
    return error
  }
  const message = messageOf(error)
  if (NUMBER_TAKEN.test(message)) return new PhoneNumberInUse()
  if (RACES.some((guard) => guard.test(message))) return new VersionConflict({ userId })
  return new StoreUnavailable({ cause: error })
}

/** A transaction through @effect/sql, for SQLite files (Node, Bun, Deno): the plan's reads are inside it. */
export const AtomicWriteTransaction = Layer.effect(
  AtomicWrite,
  Effect.map(SqlClient.SqlClient, (sql) => (plan, userId) =>
    sql.withTransaction(
      Effect.flatMap(plan, (statements) =>
        Effect.forEach(statements, (s) =>
          sql.unsafe(s.sql, s.params as Array<string | number | null>), {
          discard: true
        }))
    ).pipe(Effect.mapError(classifyWriteError(userId))))
)
