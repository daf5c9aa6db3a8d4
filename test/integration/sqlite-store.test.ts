/**
 * The SQL store on a real SQLite file: the atomic write of row + event, the concurrency guard,
 * the append-only events table, and contiguous versions under concurrent writers.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import Database from "better-sqlite3"
import { Effect, Exit, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GENESIS_HASH } from "../../src/audit/chain.js"
import type { E164 } from "../../src/domain/phone.js"
import type { UserEvent } from "../../src/domain/user.js"
import { SingleShard } from "../../src/layers/sql/shards.js"
import { SqlStores } from "../../src/layers/sql/stores.js"
import { SqliteNodeDriver } from "../../src/layers/sqlite/node.js"
import { UserRepo } from "../../src/services/user-repo.js"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let service: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  service = await f.serviceToken()
})
afterAll(() => f.dispose())

const repo = <A, E>(use: (repo: UserRepo["Type"]) => Effect.Effect<A, E>) =>
  Effect.runPromiseExit(
    Effect.flatMap(UserRepo, use).pipe(
      Effect.provide(
        SqlStores.pipe(
          Layer.provide(SingleShard),
          Layer.provide(SqliteNodeDriver(f.filename)),
          Layer.provideMerge(SqliteClient.layer({ filename: f.filename }))
        )
      )
    )
  )

const create = (id: string) =>
  call(f.fetch, "POST", "/users", { token: service, apiKey: f.tenant.apiKey, body: { id } })

const blank = (id: string, version: number) => ({
  organizationId: f.tenant.organizationId,
  id,
  phoneNumber: null,
  phoneNumberVerified: false,
  erasedAt: null,
  version
})

const eventFor = (id: string, version: number, eventId: string): UserEvent => ({
  id: eventId,
  type: "UserPhoneNumberUpdated",
  aggregateType: "User",
  aggregateId: id,
  version,
  occurredAt: "2026-01-01T00:00:00.000Z",
  data: { maskedPhoneNumber: null, previousMaskedPhoneNumber: null, phoneNumberVerified: false },
  metadata: { organizationId: f.tenant.organizationId, actor: { type: "service", id: "svc" }, requestId: "r" }
})

describe("the SQLite store", () => {
  it("leaves the users row unchanged when the event insert fails inside the atomic write", async () => {
    await create("atomic_1")
    const [existing] = f.query<{ event_id: string; hash: string }>(
      "SELECT event_id, hash FROM events WHERE aggregate_id = 'atomic_1'"
    )
    // A duplicate event id makes the second statement fail after the row update succeeded.
    const exit = await repo((r) =>
      r.commit({
        state: { ...blank("atomic_1", 2), phoneNumber: "+14155552671" as E164 },
        event: eventFor("atomic_1", 2, existing!.event_id),
        previousHash: existing!.hash
      })
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(f.query("SELECT phone_number, version FROM users WHERE id = 'atomic_1'")).toEqual([
      { phone_number: null, version: 1 }
    ])
    expect(f.query("SELECT COUNT(*) AS n FROM events WHERE aggregate_id = 'atomic_1'")).toEqual([{ n: 1 }])
  })

  it("reports a stale write as a version conflict and writes nothing", async () => {
    await create("stale_1")
    const stale = {
      state: blank("stale_1", 5),
      event: eventFor("stale_1", 5, "evt-stale-1"),
      previousHash: GENESIS_HASH
    }
    const exit = await repo((r) => r.commit(stale))
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("VersionConflict")
    expect(f.query("SELECT COUNT(*) AS n FROM events WHERE aggregate_id = 'stale_1'")).toEqual([{ n: 1 }])
  })

  it("refuses UPDATE and DELETE on events (append-only)", async () => {
    await create("append_1")
    const db = new Database(f.filename)
    try {
      expect(() => db.prepare("UPDATE events SET data = '{}' WHERE aggregate_id = 'append_1'").run()).toThrow(
        /append-only/
      )
      expect(() => db.prepare("DELETE FROM events WHERE aggregate_id = 'append_1'").run()).toThrow(/append-only/)
    } finally {
      db.close()
    }
    expect(f.query("SELECT COUNT(*) AS n FROM events WHERE aggregate_id = 'append_1'")).toEqual([{ n: 1 }])
  })

  it("keeps versions contiguous after 20 concurrent updates of one user, losing none", async () => {
    await create("busy_1")
    const numbers = Array.from({ length: 20 }, (_, i) => `+1415555${String(2600 + i).padStart(4, "0")}`)
    const answers = await Promise.all(
      numbers.map((phoneNumber) =>
        call(f.fetch, "POST", "/users/busy_1/UpdatePhoneNumber", {
          token: service,
          apiKey: f.tenant.apiKey,
          body: { phoneNumber }
        })
      )
    )
    expect(answers.map((a) => a.status)).toEqual(numbers.map(() => 200))
    expect(answers.every((a) => a.body.event !== null)).toBe(true)
    const versions = f.query<{ version: number }>(
      "SELECT version FROM events WHERE aggregate_id = 'busy_1' ORDER BY version"
    )
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1))
    const [row] = f.query<{ phone_number: string; version: number }>(
      "SELECT phone_number, version FROM users WHERE id = 'busy_1'"
    )
    const [last] = f.query<{ data: string }>(
      "SELECT data FROM events WHERE aggregate_id = 'busy_1' ORDER BY version DESC LIMIT 1"
    )
    expect(row!.version).toBe(21)
    expect(JSON.parse(last!.data).maskedPhoneNumber).toBe(`****${row!.phone_number.slice(-4)}`)
    // Every update's number was stored at some version: each answer's event names its own number.
    expect(new Set(answers.map((a) => a.body.event.data.maskedPhoneNumber)).size).toBe(20)
  })

  it("holds no raw number anywhere in the events table", async () => {
    const raw = f.query<{ phone_number: string }>("SELECT phone_number FROM users WHERE phone_number IS NOT NULL")
    expect(raw.length).toBeGreaterThan(0)
    const events = JSON.stringify(f.query("SELECT * FROM events"))
    for (const { phone_number } of raw) {
      expect(events).not.toContain(phone_number)
      expect(events).not.toContain(phone_number.slice(1))
    }
  })
})
