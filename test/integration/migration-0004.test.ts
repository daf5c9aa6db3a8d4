/**
 * migrations/0004_user_chains.sql on an SQLite file written before it, whose events form one chain per organization:
 * the start-up migration rebuilds the events table keeping every row, sequence and link; the stored chain keeps
 * verifying under its own rule; each user's next event links to its last legacy one; checkpoints seal both; and a
 * legacy event edited afterwards is still reported.
 */
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { issueApiKeySql } from "../../src/admin/tenants.js"
import { GENESIS_HASH, legacyLinkHash } from "../../src/audit/chain.js"
import { verifyAudit } from "../../src/audit/verify.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import type { UserEvent } from "../../src/domain/user.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { readAuditInput } from "../../src/layers/sql/audit-input.js"
import { applyMigrations, readMigrations } from "../../src/layers/sql/migrate.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"
import { call } from "../support/client.js"
import { TEST_IDEMPOTENCY_HASH_KEY } from "../support/sqlite-fixture.js"

const dir = mkdtempSync(join(tmpdir(), "users-api-0004-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ORG = "org_legacy"
const AT = "2026-03-01T00:00:00.000Z"

const legacyEvent = (userId: string, version: number, id: string): UserEvent =>
  ({
    id,
    type: version === 1 ? "UserCreated" : "UserPhoneNumberUpdated",
    aggregateType: "User",
    aggregateId: userId,
    version,
    occurredAt: AT,
    data: version === 1
      ? { maskedPhoneNumber: null }
      : { maskedPhoneNumber: "****2671", previousMaskedPhoneNumber: null, phoneNumberVerified: false },
    metadata: { organizationId: ORG, actor: { type: "service", id: "svc_old" }, requestId: "old" }
  }) as UserEvent

/** Writes what the code before migration 0004 wrote: users and one organization-wide chain over their events. */
const writeLegacyHistory = (db: Database.Database) => {
  db.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, 'legacy', ?)").run(ORG, AT)
  const history: Array<[string, number]> = [["u1", 1], ["u2", 1], ["u1", 2]]
  let prev = GENESIS_HASH
  history.forEach(([userId, version], i) => {
    const event = legacyEvent(userId, version, `legacy-${i + 1}`)
    const hash = legacyLinkHash(prev, i + 1, event)
    db.prepare(
      "INSERT INTO users (organization_id, id, phone_number, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (organization_id, id) DO UPDATE SET version = excluded.version, phone_number = excluded.phone_number"
    ).run(ORG, userId, version === 2 ? "+14155552671" : null, version, AT, AT)
    db.prepare(
      "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
        "occurred_at, chain_sequence, prev_hash, hash) VALUES (?, ?, 'User', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ).run(
      event.id,
      ORG,
      userId,
      version,
      event.type,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
      AT,
      i + 1,
      prev,
      hash
    )
    prev = hash
  })
}

describe("migrations/0004 over a database with an organization-wide chain", () => {
  it("keeps every legacy event verifiable, links users' next events to them, and seals both", async () => {
    const filename = join(dir, "legacy.sqlite")
    const db = new Database(filename)
    applyMigrations(db, readMigrations().filter((m) => m.name < "0004"))
    writeLegacyHistory(db)
    const apiKey = issueApiKeySql(ORG, "service", "key_service", AT)
    db.exec(apiKey.sql)
    const before = db.prepare(
      "SELECT sequence, event_id, chain_sequence, prev_hash, hash FROM events ORDER BY sequence"
    )
      .all()
    db.close()

    const key = await generateSigningKey("legacy")
    const handler = makeFetchHandler(
      SqliteNodeServices(filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key) }),
      { log: () => {}, idempotencyHashKey: TEST_IDEMPOTENCY_HASH_KEY }
    )
    try {
      const reader = new Database(filename, { readonly: true })
      // The rebuild kept every row as it was, global sequence and links included.
      expect(
        reader.prepare("SELECT sequence, event_id, chain_sequence, prev_hash, hash FROM events ORDER BY sequence").all()
      ).toEqual(before)

      const token = await signServiceToken(key, "svc_new", ORG, "users:read users:write audit:read")
      const auth = { token, apiKey: apiKey.apiKey }
      expect(
        (await call(handler.fetch, "POST", "/users/u1/UpdatePhoneNumber", { ...auth, body: { phoneNumber: null } }))
          .status
      ).toBe(200)
      expect((await call(handler.fetch, "POST", "/users", { ...auth, body: { id: "u3" } })).status).toBe(201)
      const u1 = reader.prepare(
        "SELECT version, sequence, chain_sequence, prev_hash, hash FROM events WHERE aggregate_id = 'u1' ORDER BY version"
      ).all() as Array<
        { version: number; sequence: number; chain_sequence: number | null; prev_hash: string; hash: string }
      >
      expect(u1.map((e) => [e.version, e.chain_sequence])).toEqual([[1, 1], [2, 3], [3, null]])
      expect(u1[2]!.prev_hash).toBe(u1[1]!.hash)
      // AUTOINCREMENT survived the rebuild: new events come after the old ones.
      expect(u1[2]!.sequence).toBeGreaterThan(3)

      const head = await call(handler.fetch, "GET", `/organizations/${ORG}/audit/head`, auth)
      expect(head.body).toMatchObject({ sequence: 1, eventCount: 5 })
      const all = (sql: string) => reader.prepare(sql).all()
      const report = verifyAudit(readAuditInput(all))
      expect(report.broken).toBeUndefined()
      expect(report.organizations[ORG]).toMatchObject({ events: 5, users: 3, unsealedEvents: 0 })
      reader.close()
    } finally {
      await handler.dispose()
    }

    // A legacy event edited after the migration is reported under its own rule.
    const copy = join(dir, "tampered.sqlite")
    const source = new Database(filename, { readonly: true })
    source.exec(`VACUUM INTO '${copy}'`)
    source.close()
    const tampered = new Database(copy)
    tampered.exec("DROP TRIGGER events_no_update")
    tampered.prepare("UPDATE events SET occurred_at = '2020-01-01' WHERE chain_sequence = 2").run()
    const report = verifyAudit(readAuditInput((sql) => tampered.prepare(sql).all()))
    tampered.close()
    expect(report.broken).toMatchObject({ reason: "legacy-hash", organizationId: ORG, chainSequence: 2 })
  })
})
