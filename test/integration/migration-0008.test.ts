/**
 * migrations/0008_erasure_forgets.sql on an SQLite file written before it, whose events carry fingerprints inside
 * their hashed data: a migration stopped half-way leaves every row as it was, and its statements run twice (as on a
 * D1 whose run stopped) change nothing more; once applied, a user erased before it
 * has lost its fingerprints, a user not erased keeps them (in its events and served beside them) until its erasure
 * removes them, the events table refuses any other change, and every chain and checkpoint verifies throughout.
 */
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { issueApiKeySql } from "../../src/admin/tenants.js"
import { verifyFeed } from "../../src/audit/feed.js"
import { verifyAudit } from "../../src/audit/verify.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { readAuditInput } from "../../src/layers/sql/audit-input.js"
import { applyMigrations, readMigrations } from "../../src/layers/sql/migrate.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"
import { call } from "../support/client.js"
import { bruteForce } from "../support/erasure.js"
import { fingerprintOf, N1, N2, N3, OLD_KEY, OLD_ORG, oldHistory } from "../support/old-fingerprint-history.js"
import { TEST_IDEMPOTENCY_HASH_KEY } from "../support/sqlite-fixture.js"

const dir = mkdtempSync(join(tmpdir(), "users-api-0008-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ORG = OLD_ORG
const KEY = OLD_KEY
const fp = fingerprintOf
const AT = "2026-03-01T00:00:00.000Z"

const writeOldHistory = (db: Database.Database) => {
  for (const { params, sql } of oldHistory()) db.prepare(sql).run(...params)
}

const EVENTS = "SELECT sequence, event_id, data, prev_hash, hash FROM events ORDER BY sequence"
const before0008 = readMigrations().filter((m) => m.name < "0008")

describe("migrations/0008 over events that carry fingerprints", () => {
  it("stopped half-way, leaves every row as it was; applied again, completes", () => {
    const db = new Database(join(dir, "halfway.sqlite"))
    applyMigrations(db, before0008)
    writeOldHistory(db)
    const events = db.prepare(EVENTS).all()
    // Its last statement, the redaction of the user erased before it, fails: every statement before it ran.
    db.exec("CREATE TRIGGER block_redaction BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'blocked'); END")
    expect(() => applyMigrations(db)).toThrow(/blocked/)
    expect(db.prepare(EVENTS).all()).toEqual(events)
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'phone_fingerprints'").all()).toEqual([])
    expect(db.prepare("SELECT name FROM d1_migrations WHERE name LIKE '0008%'").all()).toEqual([])

    db.exec("DROP TRIGGER block_redaction")
    expect(applyMigrations(db, readMigrations().filter((m) => m.name < "0009"))).toBe(1)
    expect(db.prepare("SELECT aggregate_id, version FROM redacted_events").all()).toEqual([
      { aggregate_id: "gone", version: 1 }
    ])
    expect(verifyAudit(readAuditInput((sql) => db.prepare(sql).all())).broken).toBeUndefined()
    db.close()
  })

  it("can run its statements again, as after a run on D1 that stopped half-way", () => {
    const db = new Database(join(dir, "twice.sqlite"))
    applyMigrations(db, before0008)
    writeOldHistory(db)
    const sql = readMigrations().find((m) => m.name.startsWith("0008"))!.sql
    db.exec(sql)
    const once = db.prepare(EVENTS).all()
    db.exec(sql)
    expect(db.prepare(EVENTS).all()).toEqual(once)
    expect(db.prepare("SELECT count(*) AS n FROM phone_fingerprints").get()).toEqual({ n: 2 })
    expect(verifyAudit(readAuditInput((q) => db.prepare(q).all())).broken).toBeUndefined()
    db.close()
  })

  it("forgets for users erased before it, keeps matching for the others until their erasure, and verifies", async () => {
    const filename = join(dir, "old.sqlite")
    const db = new Database(filename)
    applyMigrations(db, before0008)
    writeOldHistory(db)
    const apiKey = issueApiKeySql(ORG, "service", "key_service", AT)
    db.exec(apiKey.sql)
    db.close()

    const key = await generateSigningKey("old")
    const handler = makeFetchHandler(
      SqliteNodeServices(filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key) }),
      { log: () => {}, idempotencyHashKey: TEST_IDEMPOTENCY_HASH_KEY, phoneFingerprintKey: KEY }
    )
    const reader = new Database(filename, { readonly: true })
    const all = (sql: string) => reader.prepare(sql).all()
    try {
      const token = await signServiceToken(key, "svc_new", ORG, "users:read users:write users:erase audit:read")
      const auth = { token, apiKey: apiKey.apiKey }
      const feed = async () => {
        const head = (await call(handler.fetch, "GET", `/organizations/${ORG}/audit/head`, auth)).body
        const entries = (await call(handler.fetch, "GET", `/organizations/${ORG}/events`, auth)).body.events
        return { head, entries, check: await verifyFeed(entries, head) }
      }

      // The first request migrated the file: the erased user's events lost their fingerprints, the other's kept them.
      const migrated = await feed()
      expect(migrated.check).toMatchObject({ ok: true, checked: 4 })
      expect(migrated.entries.map((e: any) => [e.aggregateId, e.version, e.redacted, e.fingerprints])).toEqual([
        ["kept", 1, undefined, { phoneNumberFingerprint: fp(N1) }],
        ["gone", 1, true, undefined],
        ["kept", 2, undefined, { phoneNumberFingerprint: fp(N2), previousPhoneNumberFingerprint: fp(N1) }],
        ["gone", 2, undefined, undefined]
      ])
      expect(migrated.entries[2].event.data.previousPhoneNumberFingerprint).toBe(fp(N1))
      expect(bruteForce(KEY, [N3], [JSON.stringify(migrated), JSON.stringify(all("SELECT * FROM events"))]))
        .toEqual([])
      expect(verifyAudit(readAuditInput(all)).broken).toBeUndefined()

      expect((await call(handler.fetch, "POST", "/users/kept/ErasePersonalData", auth)).status).toBe(200)
      const erased = await feed()
      expect(erased.check).toMatchObject({ ok: true, checked: 5, sealed: 1 })
      expect(erased.entries.filter((e: any) => e.redacted === true).map((e: any) => e.event.id)).toEqual([
        "kept-1",
        "gone-1",
        "kept-2"
      ])
      const texts = [
        JSON.stringify(erased),
        JSON.stringify(all("SELECT * FROM events")),
        JSON.stringify(all("SELECT * FROM phone_fingerprints"))
      ]
      expect(bruteForce(KEY, [N1, N2, N3], texts)).toEqual([])
      const report = verifyAudit(readAuditInput(all))
      expect(report.broken).toBeUndefined()
      expect(report.organizations[ORG]).toMatchObject({ events: 5, unsealedEvents: 0 })
    } finally {
      reader.close()
      await handler.dispose()
    }

    // The events stay append-only for everything else, and only an erased user's events are redacted.
    const live = new Database(filename)
    expect(() => live.prepare("UPDATE events SET occurred_at = 'x' WHERE event_id = 'kept-1'").run()).toThrow(
      /append-only/
    )
    live.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_x', 'x', ?)").run(AT)
    live.prepare(
      "INSERT INTO users (organization_id, id, phone_number, version, created_at, updated_at) VALUES ('org_x', 'u', NULL, 1, ?, ?)"
    ).run(AT, AT)
    expect(() => live.prepare("INSERT INTO redacted_events VALUES ('org_x', 'u', 1)").run()).toThrow(/erased user/)
    expect(() => live.prepare("DELETE FROM redacted_events").run()).toThrow(/append-only/)
    live.close()
  })
})
