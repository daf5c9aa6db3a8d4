/**
 * Waiting for another connection's lock on an SQLite file off the event loop: the drivers are synchronous and
 * busy_timeout sleeps inside the call, so a call waits BUSY_TIMEOUT_MS there, and one refused with "database is
 * locked" (nothing applied) is tried again on LOCK_RETRY, yielding in between, then is a StoreUnavailable (503).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, type SqlConnection, type SqlError, Statement } from "@effect/sql"
import { Context, Effect, Layer, Schedule } from "effect"

/** How long one call waits inside SQLite for a lock: short, since it blocks the event loop meanwhile. */
export const BUSY_TIMEOUT_MS = 5

/** How long a statement or write is tried again, in all, before it is refused. */
export const LOCK_WAIT = "2 seconds"

/** Back-off from 5 ms doubling, each pause at most 100 ms and jittered, for LOCK_WAIT in all. */
export const LOCK_RETRY = Schedule.exponential("5 millis").pipe(
  Schedule.union(Schedule.spaced("100 millis")),
  Schedule.jittered,
  Schedule.upTo(LOCK_WAIT)
)

/** SQLite's SQLITE_BUSY, from any of the three drivers, however deep in the error's causes. */
export const isLocked = (error: unknown): boolean => {
  let current: unknown = error
  for (let depth = 0; current != null && typeof current === "object" && depth < 5; depth++) {
    if ("message" in current && /database is locked/.test(String(current.message))) return true
    current = "cause" in current ? current.cause : undefined
  }
  return false
}

export const retryWhileLocked = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, { schedule: LOCK_RETRY, while: isLocked })

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

/**
 * `layer`'s SqlClient with a short busy_timeout and its statements tried again on LOCK_RETRY. A statement alone
 * takes the connection for each attempt, so others run in the pauses; a transaction keeps it throughout.
 */
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
