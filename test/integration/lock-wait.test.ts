/**
 * The SQLite driver waiting for another connection's write lock (src/layers/sql/lock-wait.ts), on real files under
 * better-sqlite3: the event loop keeps turning while a write waits; a lock let go within LOCK_WAIT lets the write
 * through, one held past it refuses the write as StoreUnavailable with nothing applied.
 */
import Database from "better-sqlite3"
import { Effect, Exit } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, expect, it } from "vitest"
import { sqliteDriver, type SyncSqlite } from "../../src/layers/sql/driver.js"
import { BUSY_TIMEOUT_MS, isLocked } from "../../src/layers/sql/lock-wait.js"
import { applyMigrations, tuneSqlite } from "../../src/layers/sql/migrate.js"

let db: Database.Database
let other: Database.Database
beforeEach(() => {
  const filename = join(mkdtempSync(join(tmpdir(), "users-api-lock-")), "lock.sqlite")
  db = new Database(filename)
  tuneSqlite(db)
  applyMigrations(db)
  db.exec("INSERT INTO organizations (id, name, created_at) VALUES ('org_l', 'l', 'now')")
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  other = new Database(filename)
})
afterEach(() => {
  if (other.inTransaction) other.exec("ROLLBACK")
  other.close()
  db.close()
})

const createUser = (id: string) => [{
  sql: "INSERT INTO users (organization_id, id, phone_number, version, created_at, updated_at) " +
    "VALUES ('org_l', ?, NULL, 1, 'now', 'now')",
  params: [id]
}]
const count = () => db.prepare("SELECT count(*) FROM users").pluck().get()

/** Turns of the event loop while `run` is pending. */
const turnsDuring = async <A>(run: Promise<A>) => {
  let turns = 0
  let done = false
  const tick = () => {
    turns++
    if (!done) setTimeout(tick, 1)
  }
  setTimeout(tick, 1)
  const result = await run.finally(() => (done = true))
  return { result, turns }
}

it("a write waits for a lock let go in time, the event loop turning meanwhile, and is applied", async () => {
  const driver = sqliteDriver(db as unknown as SyncSqlite)
  other.exec("BEGIN EXCLUSIVE")
  setTimeout(() => other.exec("COMMIT"), 300)
  const { result, turns } = await turnsDuring(Effect.runPromiseExit(driver.write(createUser("u1"), "u1")))
  expect(Exit.isSuccess(result)).toBe(true)
  expect(turns).toBeGreaterThan(10)
  expect(count()).toBe(1)
})

it("a lock held past LOCK_WAIT refuses the write as StoreUnavailable, with nothing applied", async () => {
  const driver = sqliteDriver(db as unknown as SyncSqlite)
  other.exec("BEGIN EXCLUSIVE")
  const { result, turns } = await turnsDuring(Effect.runPromiseExit(driver.write(createUser("u2"), "u2")))
  expect(Exit.isFailure(result) && result.cause._tag === "Fail" && result.cause.error._tag).toBe("StoreUnavailable")
  expect(Exit.isFailure(result) && result.cause._tag === "Fail" && isLocked(result.cause.error)).toBe(true)
  expect(turns).toBeGreaterThan(10)
  // Readers are not kept out by a writer in WAL mode.
  expect(Exit.isSuccess(await Effect.runPromiseExit(driver.get("SELECT count(*) AS n FROM users", [])))).toBe(true)
  other.exec("COMMIT")
  expect(count()).toBe(0)
  expect(Exit.isSuccess(await Effect.runPromiseExit(driver.write(createUser("u2"), "u2")))).toBe(true)
})
