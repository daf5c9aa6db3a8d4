/**
 * Applies migrations/*.sql to an SQLite file at start-up, recording them in `d1_migrations`
 * exactly as `wrangler d1 migrations apply` does, so one set of files serves D1 and SQLite.
 */
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

/** The few calls every SQLite driver here has (better-sqlite3, bun:sqlite, node:sqlite). */
export interface RawSqlite {
  exec(sql: string): unknown
  prepare(sql: string): {
    all(...params: Array<unknown>): Array<unknown>
    run(...params: Array<unknown>): unknown
    /** bun:sqlite only; the others finalize their statements when the connection closes. */
    finalize?(): void
  }
}

/**
 * Runs `use` on a prepared statement, then finalizes it where the driver needs that: bun:sqlite's close() leaves a
 * connection with unfinalized statements open until garbage collection, and that late real close checkpoints
 * under the file's lock whenever the collector runs, e.g. while a server is opening the file.
 */
export const withStatement = <A>(
  db: RawSqlite,
  sql: string,
  use: (statement: ReturnType<RawSqlite["prepare"]>) => A
): A => {
  const statement = db.prepare(sql)
  try {
    return use(statement)
  } finally {
    statement.finalize?.()
  }
}

/**
 * migrations/ beside the code that reads it: three levels up from src/layers/sql/ when run from source, one up from
 * dist/ in the production bundles (`npm run build`, `deno task build`), where this module is inlined. Told apart by
 * the module's own path, without touching the file system (Deno may read only migrations/ and data/).
 */
export const MIGRATIONS_DIR = new URL(
  import.meta.url.includes("/src/layers/sql/") ? "../../../migrations/" : "../migrations/",
  import.meta.url
)

export interface Migration {
  readonly name: string
  readonly sql: string
}

export const readMigrations = (dir: string = MIGRATIONS_DIR.pathname): ReadonlyArray<Migration> =>
  readdirSync(dir)
    .filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(dir, name), "utf8") }))

/**
 * Pragmas for a server's SQLite file: WAL so readers never wait for the writer; NORMAL is durable in WAL.
 * Only journal_mode is kept in the file; the others hold for `db` alone, so each server layer sets them again on
 * its own connection (../sqlite/: connection.ts, and bun.ts, deno-client.ts and node.ts for their clients' own).
 */
export const tuneSqlite = (db: RawSqlite) => {
  // First: without it, journal_mode (or anything after it) fails at once with "database is locked" when another
  // connection holds a lock at that moment, instead of waiting for it.
  db.exec("PRAGMA busy_timeout = 5000")
  db.exec("PRAGMA journal_mode = WAL")
  db.exec("PRAGMA synchronous = NORMAL")
  db.exec("PRAGMA foreign_keys = ON")
}

/**
 * The database holds raw phone numbers: it is created readable by its owner only (0600), like data/dev-state.json,
 * before SQLite opens it. SQLite gives the -wal and -shm files it creates the database file's mode, so they follow;
 * a file (or journal) an older version left more open is tightened.
 */
export const makePrivateDatabaseFile = (filename: string) => {
  closeSync(openSync(filename, "a", 0o600))
  for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
  }
}

export interface PrepareOptions {
  /** Idempotent SQL run after the migrations, e.g. the local demo tenant (src/dev/state.ts `devSeedSql`). */
  readonly seedSql?: string
}

/**
 * Readies a server's SQLite file before the server takes requests, synchronously: tunes it, applies pending
 * migrations, runs the seed, and closes `db`. Every driver's `exec` runs multi-statement SQL, triggers included.
 */
export const prepareSqlite = (db: RawSqlite & { close(): unknown }, options: PrepareOptions = {}) => {
  try {
    tuneSqlite(db)
    applyMigrations(db)
    if (options.seedSql !== undefined) db.exec(options.seedSql)
  } finally {
    db.close()
  }
}

export const applyMigrations = (db: RawSqlite, migrations: ReadonlyArray<Migration> = readMigrations()): number => {
  db.exec(
    "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, " +
      "applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
  )
  const applied = new Set(
    withStatement(db, "SELECT name FROM d1_migrations", (s) => s.all() as Array<{ name: string }>).map((row) =>
      row.name
    )
  )
  let count = 0
  for (const migration of migrations) {
    if (applied.has(migration.name)) continue
    db.exec("BEGIN IMMEDIATE")
    try {
      db.exec(migration.sql)
      withStatement(db, "INSERT INTO d1_migrations (name) VALUES (?)", (s) => s.run(migration.name))
      db.exec("COMMIT")
      count++
    } catch (error) {
      db.exec("ROLLBACK")
      throw error
    }
  }
  return count
}
