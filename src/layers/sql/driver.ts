// The request path's few calls, on the driver directly; every other query goes through @effect/sql.
import { Context, Effect } from "effect"
import { IdempotencyKeyInUse, PhoneNumberInUse, StoreUnavailable, VersionConflict } from "../../services/errors.js"
import { retryWhileLocked } from "./lock-wait.js"
import type { Statement } from "./rows.js"

export type WriteError = VersionConflict | PhoneNumberInUse | IdempotencyKeyInUse | StoreUnavailable

export class StoreDriver extends Context.Tag("users-api/StoreDriver")<StoreDriver, {
  readonly get: <R>(
    sql: string,
    params: ReadonlyArray<string | number | null>
  ) => Effect.Effect<R | undefined, StoreUnavailable>
  readonly write: (statements: ReadonlyArray<Statement>, userId: string) => Effect.Effect<void, WriteError>
}>() {}

// The guards of migrations/: a lost race (retried against fresh state), and a number another user holds (not).
const RACES = [
  /UNIQUE constraint failed: events\.organization_id, events\.aggregate_id, events\.version/,
  /UNIQUE constraint failed: users\.organization_id, users\.id/,
  /event version does not match the user row/,
  /event does not extend its user chain/,
  /UNIQUE constraint failed: events\.organization_id, events\.organization_sequence/
]
const NUMBER_TAKEN = /UNIQUE constraint failed: users\.organization_id, users\.phone_number/
// Another attempt took over this write's Idempotency-Key (idempotency-store.ts).
const KEY_TAKEN = /NOT NULL constraint failed: idempotency_keys\.state/

/** The messages of an error and its causes: where a refusal names the guard that fired. */
export const messageOf = (error: unknown): string => {
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
  if (
    error instanceof VersionConflict || error instanceof PhoneNumberInUse || error instanceof IdempotencyKeyInUse ||
    error instanceof StoreUnavailable
  ) {
    return error
  }
  const message = messageOf(error)
  if (NUMBER_TAKEN.test(message)) return new PhoneNumberInUse()
  if (KEY_TAKEN.test(message)) return new IdempotencyKeyInUse()
  if (RACES.some((guard) => guard.test(message))) return new VersionConflict({ userId })
  return new StoreUnavailable({ cause: error })
}

export const unavailable = (cause: unknown) => new StoreUnavailable({ cause })

export interface SyncSqlite {
  exec(sql: string): unknown
  prepare(sql: string): {
    get(...params: Array<string | number | null>): unknown
    run(...params: Array<string | number | null>): unknown
  }
}

interface Pending {
  readonly statements: ReadonlyArray<Statement>
  readonly userId: string
  readonly resume: (outcome: Effect.Effect<void, WriteError>) => void
}

const DONE = Effect.void

const nextTurn: (task: () => void) => void = typeof globalThis.setImmediate === "function"
  ? (task) => void setImmediate(task)
  : (task) => void setTimeout(task, 0)

// Group commit, measured: one IMMEDIATE transaction for the writes of one event-loop turn, each in its SAVEPOINT
// (a failing write rolls back alone), halves SQLite's cost per write (BENCHMARKS.md). Outcomes are told after COMMIT;
// the transaction never yields, so nothing else on this connection interleaves.
export const sqliteDriver = (db: SyncSqlite): StoreDriver["Type"] => {
  const prepared = new Map<string, ReturnType<SyncSqlite["prepare"]>>()
  const statement = (sql: string) => {
    let found = prepared.get(sql)
    if (found === undefined) prepared.set(sql, found = db.prepare(sql))
    return found
  }
  let queue: Array<Pending> = []
  const apply = (write: Pending) => {
    for (const s of write.statements) statement(s.sql).run(...s.params)
  }
  const flush = () => {
    const group = queue
    queue = []
    const outcomes: Array<Effect.Effect<void, WriteError>> = []
    try {
      db.exec("BEGIN IMMEDIATE")
      try {
        if (group.length === 1) {
          apply(group[0]!)
          outcomes.push(DONE)
        } else {
          for (const write of group) {
            db.exec("SAVEPOINT write")
            try {
              apply(write)
              db.exec("RELEASE write")
              outcomes.push(DONE)
            } catch (error) {
              db.exec("ROLLBACK TO write")
              db.exec("RELEASE write")
              outcomes.push(Effect.fail(classifyWriteError(write.userId)(error)))
            }
          }
        }
        db.exec("COMMIT")
      } catch (error) {
        db.exec("ROLLBACK")
        throw error
      }
    } catch (error) {
      // The transaction itself failed (or its only write): none is applied, every write is told.
      group.forEach((write) => write.resume(Effect.fail(classifyWriteError(write.userId)(error))))
      return
    }
    group.forEach((write, i) => write.resume(outcomes[i]!))
  }
  return {
    get: <R>(sql: string, params: ReadonlyArray<string | number | null>) =>
      retryWhileLocked(
        Effect.try({ try: () => (statement(sql).get(...params) ?? undefined) as R | undefined, catch: unavailable })
      ),
    // A write refused by another connection's lock was rolled back: it joins a later group.
    write: (statements, userId) =>
      retryWhileLocked(Effect.async<void, WriteError>((resume) => {
        queue.push({ statements, userId, resume })
        // Next turn, not a microtask: a server hands each request over in its own callback, and a microtask would
        // run before the next one's.
        if (queue.length === 1) nextTurn(flush)
      }))
  }
}
