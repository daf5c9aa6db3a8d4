/**
 * StoreDriver: the store's own calls on the request path, under the same service tags. An SQLite file runs them on
 * the driver's prepared statements directly, synchronously; D1 as prepared statements and one `batch()` (../d1.ts).
 * They are a handful of statements (a user's row with its chain head, the atomic write, a ping): every other query
 * goes through @effect/sql. `write` runs its statements as one all-or-nothing unit and says why it was refused.
 */
import { Context, Effect } from "effect"
import { PhoneNumberInUse, StoreUnavailable, VersionConflict } from "../../services/errors.js"
import type { Statement } from "./rows.js"

export type WriteError = VersionConflict | PhoneNumberInUse | StoreUnavailable

export class StoreDriver extends Context.Tag("users-api/StoreDriver")<StoreDriver, {
  readonly get: <R>(
    sql: string,
    params: ReadonlyArray<string | number | null>
  ) => Effect.Effect<R | undefined, StoreUnavailable>
  readonly write: (statements: ReadonlyArray<Statement>, userId: string) => Effect.Effect<void, WriteError>
}>() {}

// The guards of migrations/ (0001, 0004): a lost race on the user's row, version or chain (retry against fresh
// state), and a number that another user of the organization holds (no retry).
const RACES = [
  /UNIQUE constraint failed: events\.organization_id, events\.aggregate_id, events\.version/,
  /UNIQUE constraint failed: users\.organization_id, users\.id/,
  /event version does not match the user row/,
  /event does not extend its user chain/
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

export const unavailable = (cause: unknown) => new StoreUnavailable({ cause })

/** The calls bun:sqlite, node:sqlite and better-sqlite3 share, on one open connection. */
export interface SyncSqlite {
  exec(sql: string): unknown
  prepare(sql: string): {
    get(...params: Array<string | number | null>): unknown
    run(...params: Array<string | number | null>): unknown
  }
}

/**
 * The driver over an SQLite connection: statements prepared once and kept, the write in one IMMEDIATE transaction
 * that runs to its end without yielding, so nothing else on this connection can interleave with it.
 */
export const sqliteDriver = (db: SyncSqlite): StoreDriver["Type"] => {
  const prepared = new Map<string, ReturnType<SyncSqlite["prepare"]>>()
  const statement = (sql: string) => {
    let found = prepared.get(sql)
    if (found === undefined) prepared.set(sql, found = db.prepare(sql))
    return found
  }
  return {
    get: <R>(sql: string, params: ReadonlyArray<string | number | null>) =>
      Effect.try({ try: () => (statement(sql).get(...params) ?? undefined) as R | undefined, catch: unavailable }),
    write: (statements, userId) =>
      Effect.try({
        try: () => {
          db.exec("BEGIN IMMEDIATE")
          try {
            for (const s of statements) statement(s.sql).run(...s.params)
            db.exec("COMMIT")
          } catch (error) {
            db.exec("ROLLBACK")
            throw error
          }
        },
        catch: classifyWriteError(userId)
      })
  }
}
