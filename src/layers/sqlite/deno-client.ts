// Hand-made because Deno cannot load better-sqlite3 and there is no @effect/sql-sqlite-deno: an SqlClient over
// node:sqlite, modelled on @effect/sql-sqlite-node (one connection behind a semaphore).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- node:sqlite types for Deno (no @types package)
/// <reference path="./node-sqlite.d.ts" />
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "@effect/sql"
import { Cache, Context, Duration, Effect, Layer, Scope } from "effect"
import { DatabaseSync, type StatementSync } from "node:sqlite"

export const TypeId: unique symbol = Symbol.for("users-api/SqliteDenoClient")
export type TypeId = typeof TypeId

export interface SqliteDenoClientConfig {
  readonly filename: string
  readonly readonly?: boolean | undefined
  readonly disableWAL?: boolean | undefined
  /** PRAGMA busy_timeout in ms (default 5000, as better-sqlite3). */
  readonly busyTimeoutMillis?: number | undefined
  readonly prepareCacheSize?: number | undefined
  readonly prepareCacheTTL?: Duration.DurationInput | undefined
  readonly spanAttributes?: Record<string, unknown> | undefined
  readonly transformResultNames?: ((str: string) => string) | undefined
  readonly transformQueryNames?: ((str: string) => string) | undefined
}

export interface SqliteDenoClient extends SqlClient.SqlClient {
  readonly [TypeId]: TypeId
  readonly config: SqliteDenoClientConfig
  /** Not supported in SQLite. */
  readonly updateValues: never
}

export const SqliteDenoClient = Context.GenericTag<SqliteDenoClient>("users-api/SqliteDenoClient")

type Row = Record<string, unknown>

// node:sqlite binds no booleans or undefined, which callers of the other drivers pass.
const toParam = (value: unknown) => (value === undefined ? null : typeof value === "boolean" ? (value ? 1 : 0) : value)
const toParams = (params: ReadonlyArray<unknown>) => params.map(toParam) as Array<never>

// Read as bigints (node:sqlite throws past 2^53), numbers when that loses nothing, unless SafeIntegers is asked.
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER)
const toValue = (value: unknown) =>
  typeof value === "bigint" && value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value

// node:sqlite's rows have a null prototype.
const toRow = (row: Row, safeIntegers: boolean): Row => {
  const plain: Row = {}
  for (const key in row) plain[key] = safeIntegers ? row[key] : toValue(row[key])
  return plain
}

const failure = (message: string) => (cause: unknown) => new SqlError.SqlError({ cause, message })

export const make = (
  options: SqliteDenoClientConfig
): Effect.Effect<SqliteDenoClient, SqlError.SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const compiler = Statement.makeCompilerSqlite(options.transformQueryNames)
    const transformRows = options.transformResultNames
      ? Statement.defaultTransforms(options.transformResultNames).array
      : undefined

    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => new DatabaseSync(options.filename, { readOnly: options.readonly ?? false }),
        catch: failure(`Failed to open ${options.filename}`)
      }),
      (db) => Effect.sync(() => db.close())
    )
    yield* Effect.try({
      try: () => {
        // First, so journal_mode and the rest wait for another connection's lock.
        db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMillis ?? 5000))}`)
        if (options.disableWAL !== true && options.readonly !== true) {
          db.exec("PRAGMA journal_mode = WAL")
          // Per connection, so tuneSqlite's does not reach it.
          db.exec("PRAGMA synchronous = NORMAL")
        }
        db.exec("PRAGMA foreign_keys = ON")
      },
      catch: failure("Failed to configure the connection")
    })

    const prepareCache = yield* Cache.make({
      capacity: options.prepareCacheSize ?? 200,
      timeToLive: options.prepareCacheTTL ?? Duration.minutes(10),
      lookup: (sql: string) => Effect.try({ try: () => db.prepare(sql), catch: failure("Failed to prepare statement") })
    })

    const runStatement = (statement: StatementSync, params: ReadonlyArray<unknown>, raw: boolean) =>
      Effect.withFiberRuntime<ReadonlyArray<any>, SqlError.SqlError>((fiber) => {
        const safeIntegers = Context.get(fiber.currentContext, SqlClient.SafeIntegers)
        try {
          statement.setReadBigInts(true)
          if (statement.columns().length > 0) {
            const rows = statement.all(...toParams(params)) as Array<Row>
            return Effect.succeed(rows.map((row) => toRow(row, safeIntegers)))
          }
          const result = statement.run(...toParams(params))
          return Effect.succeed(
            raw ? { changes: toValue(result.changes), lastInsertRowid: toValue(result.lastInsertRowid) } as any : []
          )
        } catch (cause) {
          return Effect.fail(new SqlError.SqlError({ cause, message: "Failed to execute statement" }))
        }
      })

    const run = (sql: string, params: ReadonlyArray<unknown>, raw = false) =>
      Effect.flatMap(prepareCache.get(sql), (statement) => runStatement(statement, params, raw))

    const runValues = (sql: string, params: ReadonlyArray<unknown>) =>
      Effect.flatMap(prepareCache.get(sql), (statement) =>
        Effect.withFiberRuntime<ReadonlyArray<ReadonlyArray<unknown>>, SqlError.SqlError>((fiber) => {
          const safeIntegers = Context.get(fiber.currentContext, SqlClient.SafeIntegers)
          try {
            statement.setReadBigInts(true)
            if (statement.columns().length === 0) {
              statement.run(...toParams(params))
              return Effect.succeed([])
            }
            statement.setReturnArrays(true)
            const rows = statement.all(...toParams(params)) as unknown as Array<Array<unknown>>
            return Effect.succeed(
              safeIntegers ? rows : rows.map((row) =>
                row.map(toValue)
              )
            )
          } catch (cause) {
            return Effect.fail(new SqlError.SqlError({ cause, message: "Failed to execute statement" }))
          } finally {
            statement.setReturnArrays(false)
          }
        }))

    const connection: SqlConnection.Connection = {
      execute: (sql, params, transformRows) =>
        transformRows ? Effect.map(run(sql, params), transformRows) : run(sql, params),
      executeRaw: (sql, params) => run(sql, params, true),
      executeValues: runValues,
      executeUnprepared: (sql, params, transformRows) => {
        const effect = Effect.flatMap(
          Effect.try({ try: () => db.prepare(sql), catch: failure("Failed to prepare statement") }),
          (statement) => runStatement(statement, params ?? [], false)
        )
        return transformRows ? Effect.map(effect, transformRows) : effect
      },
      executeStream: () =>
        Effect.dieMessage("executeStream is not supported by the node:sqlite client (SqliteDenoClient)")
    }

    const semaphore = yield* Effect.makeSemaphore(1)
    const acquirer = semaphore.withPermits(1)(Effect.succeed(connection))
    // A transaction holds the one connection until its scope closes, so no other fiber's statement joins it.
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, semaphore.release(1)))
        ),
        connection
      )
    )

    const client = yield* SqlClient.make({
      acquirer,
      compiler,
      transactionAcquirer,
      spanAttributes: [
        ...(options.spanAttributes ? Object.entries(options.spanAttributes) : []),
        ["db.system.name", "sqlite"]
      ],
      transformRows
    })
    return Object.assign(client as SqliteDenoClient, { [TypeId]: TypeId as TypeId, config: options })
  })

export const layer = (
  config: SqliteDenoClientConfig
): Layer.Layer<SqliteDenoClient | SqlClient.SqlClient, SqlError.SqlError> =>
  Layer.scopedContext(
    Effect.map(make(config), (client) =>
      Context.make(SqliteDenoClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  ).pipe(Layer.provide(Reactivity.layer))
