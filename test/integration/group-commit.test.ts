/**
 * The SQLite driver's group commit (src/layers/sql/driver.ts): writes that reach it in one turn of the event loop
 * are committed in one transaction, each in its own savepoint, so one failing write is rolled back alone and told
 * why, and the others commit; every write learns its outcome only once the transaction committed.
 */
import Database from "better-sqlite3"
import { Effect, Exit } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { User, UserEvent } from "../../src/domain/user.js"
import { sqliteDriver, type SyncSqlite } from "../../src/layers/sql/driver.js"
import { applyMigrations, tuneSqlite } from "../../src/layers/sql/migrate.js"
import { changeStatements } from "../../src/layers/sql/rows.js"

let db: Database.Database
let reader: Database.Database
beforeAll(() => {
  const filename = join(mkdtempSync(join(tmpdir(), "users-api-group-")), "group.sqlite")
  db = new Database(filename)
  tuneSqlite(db)
  applyMigrations(db)
  db.exec("INSERT INTO organizations (id, name, created_at) VALUES ('org_g', 'g', 'now')")
  reader = new Database(filename, { readonly: true })
})
afterAll(() => {
  reader.close()
  db.close()
})

const createUser = (id: string, phoneNumber: string | null) => [
  {
    sql: "INSERT INTO users (organization_id, id, phone_number, version, created_at, updated_at) " +
      "VALUES ('org_g', ?, ?, 1, 'now', 'now')",
    params: [id, phoneNumber]
  }
]

const users = () => reader.prepare("SELECT id FROM users WHERE organization_id = 'org_g' ORDER BY id").pluck().all()

describe("the SQLite driver's group commit", () => {
  it("commits the writes of one turn together, rolls a failing one back alone, and tells each its outcome", async () => {
    const driver = sqliteDriver(db as unknown as SyncSqlite)
    const exits = await Effect.runPromise(Effect.all([
      Effect.exit(driver.write(createUser("g1", "+14155550101"), "g1")),
      // Takes g1's number: the unique index refuses it inside the group.
      Effect.exit(driver.write(createUser("g2", "+14155550101"), "g2")),
      Effect.exit(driver.write(createUser("g3", null), "g3"))
    ], { concurrency: "unbounded" }))
    expect(exits.map(Exit.isSuccess)).toEqual([true, false, true])
    expect(Exit.isFailure(exits[1]!) && exits[1].cause._tag === "Fail" && exits[1].cause.error._tag).toBe(
      "PhoneNumberInUse"
    )
    expect(users()).toEqual(["g1", "g3"])
  })

  it("gives a lost race its VersionConflict inside a group and keeps the winner", async () => {
    const driver = sqliteDriver(db as unknown as SyncSqlite)
    const exits = await Effect.runPromise(Effect.all([
      Effect.exit(driver.write(createUser("r1", null), "r1")),
      Effect.exit(driver.write(createUser("r1", null), "r1"))
    ], { concurrency: "unbounded" }))
    expect(exits.map(Exit.isSuccess)).toEqual([true, false])
    expect(Exit.isFailure(exits[1]!) && exits[1].cause._tag === "Fail" && exits[1].cause.error._tag).toBe(
      "VersionConflict"
    )
    expect(users()).toContain("r1")
  })

  it("rolls a lone failing write back whole", async () => {
    const driver = sqliteDriver(db as unknown as SyncSqlite)
    const exit = await Effect.runPromiseExit(driver.write([
      ...createUser("lone", null),
      { sql: "INSERT INTO no_such_table (x) VALUES (1)", params: [] }
    ], "lone"))
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("StoreUnavailable")
    expect(users()).not.toContain("lone")
  })

  it("tells a write nothing before its transaction committed", async () => {
    const driver = sqliteDriver(db as unknown as SyncSqlite)
    let told = false
    const pending = Effect.runPromise(driver.write(createUser("late", null), "late")).then(() => (told = true))
    // The write waits for the next turn of the event loop; until then it is neither told nor visible.
    expect(told).toBe(false)
    expect(users()).not.toContain("late")
    await pending
    expect(users()).toContain("late")
  })
})

describe("event numbers in a group commit", () => {
  const created = (organizationId: string, id: string, phoneNumber: string | null) => {
    const event = {
      id: crypto.randomUUID(),
      type: "UserCreated",
      aggregateType: "User",
      aggregateId: id,
      version: 1,
      occurredAt: "2026-03-01T00:00:00.000Z",
      data: { maskedPhoneNumber: null },
      metadata: { organizationId, actor: { type: "service", id: "svc" }, requestId: id }
    } as UserEvent
    const state = { organizationId, id, phoneNumber, phoneNumberVerified: false, erasedAt: null, version: 1 } as User
    return changeStatements({ state, event, previousHash: GENESIS_HASH }, nextLink(GENESIS_HASH, event))
  }
  const numbers = (organizationId: string) =>
    reader.prepare("SELECT organization_sequence FROM events WHERE organization_id = ? ORDER BY sequence").pluck()
      .all(organizationId)

  it("gives each organization its next numbers, none skipped when a write in between is rolled back", async () => {
    db.exec("INSERT INTO organizations (id, name, created_at) VALUES ('org_n', 'n', 'now'), ('org_o', 'o', 'now')")
    const driver = sqliteDriver(db as unknown as SyncSqlite)
    const exits = await Effect.runPromise(Effect.all([
      Effect.exit(driver.write(created("org_n", "n1", "+14155550111"), "n1")),
      Effect.exit(driver.write(created("org_o", "o1", null), "o1")),
      // Takes n1's number: rolled back to its savepoint, with the number it had read.
      Effect.exit(driver.write(created("org_n", "n2", "+14155550111"), "n2")),
      Effect.exit(driver.write(created("org_n", "n3", null), "n3")),
      Effect.exit(driver.write(created("org_o", "o2", null), "o2"))
    ], { concurrency: "unbounded" }))
    expect(exits.map(Exit.isSuccess)).toEqual([true, true, false, true, true])
    expect(numbers("org_n")).toEqual([1, 2])
    expect(numbers("org_o")).toEqual([1, 2])
  })
})
