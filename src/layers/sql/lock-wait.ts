// Synchronous drivers block the event loop: busy_timeout is short, locks are retried on a Schedule (docs/DECISIONS.md,
// "Waiting for SQLite locks").
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, type SqlConnection, type SqlError, Statement } from "@effect/sql"
import { Context, Effect, Layer, Schedule } from "effect"

/** Milliseconds a call waits inside SQLite, blocking the event loop. */
export const BUSY_TIMEOUT_MS = 5

export const LOCK_WAIT = "2 seconds"

export const LOCK_RETRY = Schedule.exponential("5 millis").pipe(
  Schedule.union(Schedule.spaced("100 millis")),
  Schedule.jittered,
  Schedule.upTo(LOCK_WAIT)
)

/** SQLITE_BUSY from any driver, however deep in the causes. */
export const isLocked = (error: unknown): boolean => {
  let current: unknown = error
  for (let depth = 0; current != null && typeof current === "object" && depth < 5; depth++) {
    if ("message" in current && /database is locked/.test(String(current.message))) return true
    current = "cause" in current ? current.cause : undefined
  }
  return false
}

// Retried only once locked: Effect.retry would set the fiber's context around every statement.
export const retryWhileLocked = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchIf(effect, isLocked, () => Effect.retry(effect, { schedule: LOCK_RETRY, while: isLocked }))

type Sql<A> = Effect.Effect<A, SqlError.SqlError>

const connectionOver = (
  run: <A>(use: (c: SqlConnection.Connection) => Sql<A>) => Sql<A>
): SqlConnection.Connection => ({
  execute: (sql, params, transformRows) => run((c) => c.execute(sql, params, transformRows)),
  executeRaw: (sql, params) => run((c) => c.executeRaw(sql, params)),
  executeValues: (sql, params) => run((c) => c.executeValues(sql, params)),
  executeUnprepared: (sql, params, transformRows) => run((c) => c.executeUnprepared(sql, params, transformRows)),
  executeStream: () => Effect.dieMessage("executeStream is not supported on an SQLite file here")
})

// A statement alone takes the connection per attempt, so others run in the pauses; a transaction keeps it throughout.
export const waitingForLocks = <I, E, R>(layer: Layer.Layer<I | SqlClient.SqlClient, E, R>) =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const context = yield* Layer.build(layer)
      const inner = Context.get(context, SqlClient.SqlClient)
      yield* inner.unsafe(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
      const client = yield* SqlClient.make({
        acquirer: Effect.succeed(
          connectionOver((use) => retryWhileLocked(Effect.scoped(Effect.flatMap(inner.reserve, use))))
        ),
        transactionAcquirer: Effect.map(inner.reserve, (c) => connectionOver((use) => retryWhileLocked(use(c)))),
        compiler: Statement.makeCompilerSqlite(),
        spanAttributes: [["db.system.name", "sqlite"]]
      })
      return Context.add(context, SqlClient.SqlClient, client)
    })
  ).pipe(Layer.provide(Reactivity.layer))
