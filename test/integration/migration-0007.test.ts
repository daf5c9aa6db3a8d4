/**
 * migrations/0007_organization_sequences.sql on an SQLite file written before it, where two organizations' events
 * share the store's numbers: each organization's events are numbered 1, 2, 3… in commit order, checkpoints seal up
 * to those numbers and keep their hashes, deliveries and attempts name the organization's numbers, the whole trail
 * still verifies, and the service carries on from there. A migration that fails half-way leaves the file as it was.
 */
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { issueApiKeySql } from "../../src/admin/tenants.js"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import { type Checkpoint, headsOf, nextCheckpoint } from "../../src/audit/checkpoint.js"
import { verifyAudit } from "../../src/audit/verify.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { readAuditInput } from "../../src/layers/sql/audit-input.js"
import { applyMigrations, readMigrations } from "../../src/layers/sql/migrate.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"
import { call } from "../support/client.js"
import { OLD_AT, oldEventOf } from "../support/old-events.js"
import { TEST_IDEMPOTENCY_HASH_KEY } from "../support/sqlite-fixture.js"

const dir = mkdtempSync(join(tmpdir(), "users-api-0007-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const AT = OLD_AT
const BEFORE_0007 = readMigrations().filter((m) => m.name < "0007")

const eventOf = oldEventOf

// Commit order across the store: org_a's events are store numbers 1, 3, 4, 6, org_b's 2, 5.
const WRITES: ReadonlyArray<readonly [string, string]> = [
  ["org_a", "a1"],
  ["org_b", "b1"],
  ["org_a", "a2"],
  ["org_a", "a1"],
  ["org_b", "b1"],
  ["org_a", "a1"]
]

/** What the code before 0007 wrote: store-wide numbers, and checkpoints sealed (and hashed) up to them. */
const writeOldHistory = async (db: Database.Database) => {
  for (const org of ["org_a", "org_b"]) {
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)").run(org, org, AT)
  }
  const heads = new Map<string, { version: number; hash: string }>()
  const stored: Array<
    { organizationId: string; sequence: number; aggregateId: string; version: number; hash: string }
  > = []
  WRITES.forEach(([organizationId, userId], i) => {
    const key = `${organizationId}/${userId}`
    const head = heads.get(key) ?? { version: 0, hash: GENESIS_HASH }
    const event = eventOf(organizationId, userId, head.version + 1, i + 1)
    const link = nextLink(head.hash, event)
    heads.set(key, { version: event.version, hash: link.hash })
    db.prepare(
      "INSERT INTO users (organization_id, id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (organization_id, id) DO UPDATE SET version = excluded.version"
    ).run(organizationId, userId, event.version, AT, AT)
    db.prepare(
      "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
        "occurred_at, chain_sequence, prev_hash, hash) VALUES (?, ?, 'User', ?, ?, ?, ?, ?, ?, NULL, ?, ?)"
    ).run(
      event.id,
      organizationId,
      userId,
      event.version,
      event.type,
      JSON.stringify(event.data),
      JSON.stringify(event.metadata),
      AT,
      link.prevHash,
      link.hash
    )
    stored.push({ organizationId, sequence: i + 1, aggregateId: userId, version: event.version, hash: link.hash })
  })
  // org_a sealed twice (store numbers up to 3, then up to 6), org_b once (up to 5).
  const seal = (organizationId: string, upTo: number, after: number, previous?: Checkpoint) => {
    const sealed = stored.filter((e) => e.organizationId === organizationId && e.sequence > after && e.sequence <= upTo)
    const checkpoint = nextCheckpoint(previous, {
      organizationId,
      upToEventSequence: upTo,
      eventCount: sealed.length,
      heads: headsOf(sealed),
      createdAt: AT
    })
    db.prepare(
      "INSERT INTO audit_checkpoints (organization_id, sequence, up_to_event_sequence, event_count, root, prev_hash, " +
        "hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ).run(
      organizationId,
      checkpoint.sequence,
      upTo,
      checkpoint.eventCount,
      checkpoint.root,
      checkpoint.prevHash,
      checkpoint.hash,
      AT
    )
    return checkpoint
  }
  const a1 = seal("org_a", 3, 0)
  const a2 = seal("org_a", 6, 3, a1)
  seal("org_b", 5, 0)
  // A subscription of org_a with two deliveries (store numbers 4 and 6) and an attempt of the first.
  db.prepare(
    "INSERT INTO webhook_subscriptions (organization_id, id, url, event_types, secret_generation, status, cursor, " +
      "created_at) VALUES ('org_a', 'wh_a', 'https://example.com/h', '[\"UserPhoneNumberUpdated\"]', 1, 'active', 6, ?)"
  ).run(AT)
  for (const [sequence, id] of [[4, 4], [6, 6]] as const) {
    db.prepare(
      "INSERT INTO webhook_deliveries (organization_id, subscription_id, event_sequence, event_id, event_type, " +
        "aggregate_id, version, status, next_attempt_at, window_started_at, created_at) " +
        "VALUES ('org_a', 'wh_a', ?, ?, 'UserPhoneNumberUpdated', 'a1', ?, 'pending', ?, ?, ?)"
    ).run(sequence, eventOf("org_a", "a1", 0, id).id, sequence === 4 ? 2 : 3, AT, AT, AT)
  }
  db.prepare(
    "INSERT INTO webhook_attempts (subscription_id, event_sequence, attempted_at, duration_ms, outcome) " +
      "VALUES ('wh_a', 4, ?, 5, 'http-error')"
  ).run(AT)
  return { kept: a2 }
}

const snapshot = (db: Database.Database) => ({
  events: db.prepare("SELECT * FROM events ORDER BY sequence").all(),
  checkpoints: db.prepare("SELECT * FROM audit_checkpoints ORDER BY organization_id, sequence").all(),
  deliveries: db.prepare("SELECT * FROM webhook_deliveries ORDER BY event_sequence").all(),
  attempts: db.prepare("SELECT * FROM webhook_attempts ORDER BY id").all(),
  triggers: db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").pluck().all(),
  migrations: db.prepare("SELECT name FROM d1_migrations ORDER BY id").pluck().all()
})

describe("migrations/0007 over a database with store-wide event numbers", () => {
  it("numbers each organization's events on its own, keeps every checkpoint's hash, and still verifies", async () => {
    const filename = join(dir, "numbers.sqlite")
    const db = new Database(filename)
    applyMigrations(db, BEFORE_0007)
    const { kept } = await writeOldHistory(db)
    const issued = await issueApiKeySql("org_a", "upgrade", "key_a", AT)
    db.exec(issued.sql)
    applyMigrations(db)

    const numbers = db.prepare("SELECT organization_id, sequence, organization_sequence FROM events ORDER BY sequence")
      .all()
    expect(numbers).toEqual([
      { organization_id: "org_a", sequence: 1, organization_sequence: 1 },
      { organization_id: "org_b", sequence: 2, organization_sequence: 1 },
      { organization_id: "org_a", sequence: 3, organization_sequence: 2 },
      { organization_id: "org_a", sequence: 4, organization_sequence: 3 },
      { organization_id: "org_b", sequence: 5, organization_sequence: 2 },
      { organization_id: "org_a", sequence: 6, organization_sequence: 4 }
    ])
    expect(
      db.prepare(
        "SELECT organization_id, sequence, up_to_event_sequence, legacy_up_to_event_sequence, hash FROM audit_checkpoints " +
          "ORDER BY organization_id, sequence"
      ).all()
    ).toEqual([
      expect.objectContaining({ organization_id: "org_a", up_to_event_sequence: 2, legacy_up_to_event_sequence: 3 }),
      {
        organization_id: "org_a",
        sequence: 2,
        up_to_event_sequence: 4,
        legacy_up_to_event_sequence: 6,
        hash: kept.hash
      },
      expect.objectContaining({ organization_id: "org_b", up_to_event_sequence: 2, legacy_up_to_event_sequence: 5 })
    ])
    expect(db.prepare("SELECT event_sequence FROM webhook_deliveries ORDER BY event_sequence").pluck().all()).toEqual(
      [3, 4]
    )
    expect(db.prepare("SELECT event_sequence FROM webhook_attempts").pluck().all()).toEqual([3])
    expect(verifyAudit(readAuditInput((sql) => db.prepare(sql).all())).broken).toBeUndefined()
    db.close()

    // The service on the file: the feed in org_a's own numbers, the next write takes 5, and the next checkpoint
    // links to the one sealed before the migration.
    const key = await generateSigningKey("upgrade-0007")
    const handler = makeFetchHandler(
      SqliteNodeServices(filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key) }),
      { log: () => {}, idempotencyHashKey: TEST_IDEMPOTENCY_HASH_KEY }
    )
    try {
      const token = await signServiceToken(key, "svc_a", "org_a", "users:write audit:read")
      const as = { token, apiKey: issued.apiKey }
      expect((await call(handler.fetch, "POST", "/users", { ...as, body: { id: "a3" } })).status).toBe(201)
      const feed = await call(handler.fetch, "GET", "/organizations/org_a/events", as)
      expect(feed.body.events.map((e: { sequence: number }) => e.sequence)).toEqual([1, 2, 3, 4, 5])
      const head = await call(handler.fetch, "GET", "/organizations/org_a/audit/head", as)
      expect(head.body).toMatchObject({ sequence: 3, prevHash: kept.hash, upToEventSequence: 5, eventCount: 1 })
      const checkpoints = await call(handler.fetch, "GET", "/organizations/org_a/audit/checkpoints", as)
      expect(
        checkpoints.body.checkpoints.map((c: { legacyUpToEventSequence: number | null }) => c.legacyUpToEventSequence)
      )
        .toEqual([3, 6, null])
      const { verifyFeed } = await import("../../src/client.js")
      const keptAsServed = checkpoints.body.checkpoints[1]
      expect(
        await verifyFeed(feed.body.events, head.body, {
          previousHead: keptAsServed,
          checkpoints: checkpoints.body.checkpoints
        })
      )
        .toMatchObject({ ok: true, sealed: 5 })
    } finally {
      await handler.dispose()
    }
    const after = new Database(filename, { readonly: true })
    expect(verifyAudit(readAuditInput((sql) => after.prepare(sql).all())).broken).toBeUndefined()
    after.close()
  })

  it("leaves the file as it was, readable by the code before it, when it fails half-way", async () => {
    const filename = join(dir, "half-way.sqlite")
    const db = new Database(filename)
    applyMigrations(db, BEFORE_0007)
    await writeOldHistory(db)
    // A delivery of an event the store does not have: renumbering it fails after the events were renumbered.
    db.prepare(
      "INSERT INTO webhook_deliveries (organization_id, subscription_id, event_sequence, event_id, event_type, " +
        "aggregate_id, version, status, next_attempt_at, window_started_at, created_at) " +
        "VALUES ('org_a', 'wh_a', 99, 'gone', 'UserPhoneNumberUpdated', 'a1', 9, 'pending', ?, ?, ?)"
    ).run(AT, AT, AT)
    const before = snapshot(db)
    expect(() => applyMigrations(db)).toThrow(/NOT NULL constraint failed: webhook_deliveries.event_sequence/)
    expect(snapshot(db)).toEqual(before)
    expect(db.prepare("PRAGMA table_info(events)").all()).not.toContainEqual(
      expect.objectContaining({ name: "organization_sequence" })
    )
    // The old feed's query still answers, and the events are still append-only.
    expect(
      db.prepare("SELECT sequence FROM events WHERE organization_id = 'org_a' AND sequence > 0 ORDER BY sequence")
        .pluck().all()
    ).toEqual([1, 3, 4, 6])
    expect(() => db.prepare("UPDATE events SET type = 'x'").run()).toThrow(/append-only/)
    // Once the row is dealt with, the migration applies.
    db.prepare("DELETE FROM webhook_deliveries WHERE event_id = 'gone'").run()
    expect(applyMigrations(db)).toBe(readMigrations().length - BEFORE_0007.length)
    expect(verifyAudit(readAuditInput((sql) => db.prepare(sql).all())).broken).toBeUndefined()
    db.close()
  })
})
