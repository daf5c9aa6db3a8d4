// Recorded in `d1_migrations` as wrangler does, so one set of files serves D1 and SQLite.
import { chmodSync, closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

export interface RawSqlite {
  exec(sql: string): unknown
  prepare(sql: string): {
    all(...params: Array<unknown>): Array<unknown>
    run(...params: Array<unknown>): unknown
    /** bun:sqlite only. */
    finalize?(): void
  }
}

// Finalizes the statement: bun:sqlite's close() leaves a connection with unfinalized statements open until garbage
// collection, whose late close checkpoints under the file's lock, e.g. while a server is opening the file.
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

// Source or inlined in dist/, told apart by the module's path, not the file system: Deno may read only migrations/
// and data/.
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

// WAL so readers never wait for the writer; NORMAL is durable in WAL. Only journal_mode persists in the file.
export const tuneSqlite = (db: RawSqlite) => {
  // First, or journal_mode fails at once with "database is locked" while another connection holds a lock.
  db.exec("PRAGMA busy_timeout = 5000")
  db.exec("PRAGMA journal_mode = WAL")
  db.exec("PRAGMA synchronous = NORMAL")
  db.exec("PRAGMA foreign_keys = ON")
}

// Raw phone numbers: created 0600 before SQLite opens it; its -wal and -shm files take its mode.
export const makePrivateDatabaseFile = (filename: string) => {
  closeSync(openSync(filename, "a", 0o600))
  for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) {
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
  }
}

export interface PrepareOptions {
  /** Idempotent SQL run after the migrations, e.g. the demo tenant (src/dev/state.ts). */
  readonly seedSql?: string
}

/** Readies a server's SQLite file before it serves, and closes `db`. */
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
