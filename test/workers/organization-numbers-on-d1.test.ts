/**
 * migrations/0007_organization_sequences.sql on real local D1 holding store-wide event numbers, as
 * applyD1Migrations (one batch per file, like wrangler) applies it: each organization's events numbered on their own,
 * checkpoints and deliveries moved to those numbers with their hashes kept, the trail still verifying, and a batch
 * that fails half-way leaving the database as it was. Then concurrent writers of one organization on D1 take its
 * next numbers without a gap, whatever another organization writes.
 */
import { D1Client } from "@effect/sql-d1"
import { describe, expect, it } from "@effect/vitest"
import { applyD1Migrations, env } from "cloudflare:test"
import { Effect } from "effect"
import { ensureOrganization, issueApiKey } from "../../src/admin/tenants.js"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import { headsOf, nextCheckpoint } from "../../src/audit/checkpoint.js"
import { signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import { OLD_AT, oldEventOf } from "../support/old-events.js"
import { auditOf, BASE_URL, handlerOptions, jwtConfig, testKey } from "./support/d1-fixture.js"

const db = env.NUMBERS_DB
const all = async <T = Record<string, unknown>>(sql: string) => (await db.prepare(sql).all<T>()).results
const AT = OLD_AT
const BEFORE_0007 = env.TEST_MIGRATIONS.filter((m) => m.name < "0007")

const eventOf = oldEventOf

/** Store numbers 1..5: org_x's are 1, 3, 5 and org_y's 2, 4; each organization sealed once, by store number. */
const writeOldHistory = async () => {
  const writes = [["org_x", "x1"], ["org_y", "y1"], ["org_x", "x1"], ["org_y", "y1"], ["org_x", "x2"]] as const
  const heads = new Map<string, { version: number; hash: string }>()
  const stored: Array<
    { organizationId: string; sequence: number; aggregateId: string; version: number; hash: string }
  > = []
  const statements = ["org_x", "org_y"].map((id) =>
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)").bind(id, id, AT)
  )
  writes.forEach(([organizationId, userId], i) => {
    const head = heads.get(userId) ?? { version: 0, hash: GENESIS_HASH }
    const event = eventOf(organizationId, userId, head.version + 1, i + 1)
    const link = nextLink(head.hash, event)
    heads.set(userId, { version: event.version, hash: link.hash })
    stored.push({ organizationId, sequence: i + 1, aggregateId: userId, version: event.version, hash: link.hash })
    statements.push(
      db.prepare(
        "INSERT INTO users (organization_id, id, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (organization_id, id) DO UPDATE SET version = excluded.version"
      ).bind(organizationId, userId, event.version, AT, AT),
      db.prepare(
        "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
          "occurred_at, chain_sequence, prev_hash, hash) VALUES (?, ?, 'User', ?, ?, ?, ?, ?, ?, NULL, ?, ?)"
      ).bind(
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
    )
  })
  for (const [organizationId, upTo] of [["org_x", 5], ["org_y", 4]] as const) {
    const sealed = stored.filter((e) => e.organizationId === organizationId)
    const checkpoint = nextCheckpoint(undefined, {
      organizationId,
      upToEventSequence: upTo,
      eventCount: sealed.length,
      heads: headsOf(sealed),
      createdAt: AT
    })
    statements.push(
      db.prepare(
        "INSERT INTO audit_checkpoints (organization_id, sequence, up_to_event_sequence, event_count, root, " +
          "prev_hash, hash, created_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?)"
      ).bind(organizationId, upTo, checkpoint.eventCount, checkpoint.root, checkpoint.prevHash, checkpoint.hash, AT)
    )
  }
  statements.push(
    db.prepare(
      "INSERT INTO webhook_subscriptions (organization_id, id, url, event_types, secret_generation, status, cursor, " +
        "created_at) VALUES ('org_x', 'wh_x', 'https://example.com/h', '[\"UserPhoneNumberUpdated\"]', 1, 'active', 5, ?)"
    ).bind(AT),
    db.prepare(
      "INSERT INTO webhook_deliveries (organization_id, subscription_id, event_sequence, event_id, event_type, " +
        "aggregate_id, version, status, next_attempt_at, window_started_at, created_at) " +
        "VALUES ('org_x', 'wh_x', 3, ?, 'UserPhoneNumberUpdated', 'x1', 2, 'pending', ?, ?, ?)"
    ).bind(eventOf("org_x", "x1", 2, 3).id, AT, AT, AT)
  )
  await db.batch(statements)
}

const snapshot = async () => ({
  events: await all("SELECT * FROM events ORDER BY sequence"),
  checkpoints: await all("SELECT * FROM audit_checkpoints ORDER BY organization_id"),
  deliveries: await all("SELECT * FROM webhook_deliveries ORDER BY event_sequence"),
  migrations: (await all<{ name: string }>("SELECT name FROM d1_migrations ORDER BY id")).map((m) => m.name)
})

describe("migrations/0007 on D1 with store-wide event numbers", () => {
  it("fails half-way without a trace, then numbers each organization's events and keeps the trail verifying", async () => {
    await applyD1Migrations(db, BEFORE_0007)
    await writeOldHistory()
    // A delivery of an event the store does not have: the batch fails after the events were renumbered.
    await db.prepare(
      "INSERT INTO webhook_deliveries (organization_id, subscription_id, event_sequence, event_id, event_type, " +
        "aggregate_id, version, status, next_attempt_at, window_started_at, created_at) " +
        "VALUES ('org_x', 'wh_x', 99, 'gone', 'UserPhoneNumberUpdated', 'x1', 9, 'pending', ?, ?, ?)"
    ).bind(AT, AT, AT).run()
    const before = await snapshot()
    await expect(applyD1Migrations(db, env.TEST_MIGRATIONS)).rejects.toThrow(/NOT NULL constraint failed/)
    expect(await snapshot()).toEqual(before)
    expect(await all("PRAGMA table_info(events)")).not.toContainEqual(
      expect.objectContaining({ name: "organization_sequence" })
    )

    await db.prepare("DELETE FROM webhook_deliveries WHERE event_id = 'gone'").run()
    await applyD1Migrations(db, env.TEST_MIGRATIONS)
    expect(await all("SELECT organization_id, organization_sequence FROM events ORDER BY sequence")).toEqual([
      { organization_id: "org_x", organization_sequence: 1 },
      { organization_id: "org_y", organization_sequence: 1 },
      { organization_id: "org_x", organization_sequence: 2 },
      { organization_id: "org_y", organization_sequence: 2 },
      { organization_id: "org_x", organization_sequence: 3 }
    ])
    expect(
      await all(
        "SELECT organization_id, up_to_event_sequence, legacy_up_to_event_sequence FROM audit_checkpoints " +
          "ORDER BY organization_id"
      )
    ).toEqual([
      { organization_id: "org_x", up_to_event_sequence: 3, legacy_up_to_event_sequence: 5 },
      { organization_id: "org_y", up_to_event_sequence: 2, legacy_up_to_event_sequence: 4 }
    ])
    expect(await all("SELECT event_sequence FROM webhook_deliveries")).toEqual([{ event_sequence: 2 }])
    expect((await auditOf(db)).broken).toBeUndefined()
  })

  it("gives concurrent writers of one organization its next numbers, none skipped, whatever another writes", async () => {
    // Every test starts from the storage of before it (isolated storage): this one from an empty database.
    await applyD1Migrations(db, env.TEST_MIGRATIONS)
    const tenant = (id: string) =>
      Effect.runPromise(
        Effect.gen(function*() {
          yield* ensureOrganization(id, id)
          return yield* issueApiKey(id, "numbers")
        }).pipe(Effect.provide(D1Client.layer({ db })))
      )
    const x = await tenant("org_x")
    const y = await tenant("org_y")
    const handler = makeFetchHandler(D1Services(db, jwtConfig), handlerOptions)
    try {
      const post = async (organizationId: string, apiKey: string, path: string, body: unknown) =>
        handler.fetch(
          new Request(`${BASE_URL}${path}`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${await signServiceToken(testKey, "svc", organizationId, "users:write")}`,
              "x-api-key": apiKey,
              "content-type": "application/json"
            },
            body: JSON.stringify(body)
          })
        )
      expect((await post("org_x", x.apiKey, "/users", { id: "racer" })).status).toBe(201)
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => post("org_x", x.apiKey, "/users", { id: `new_${i}` })),
        ...Array.from({ length: 8 }, (_, i) => post("org_y", y.apiKey, "/users", { id: `new_${i}` })),
        ...Array.from(
          { length: 4 },
          (_, i) => post("org_x", x.apiKey, "/users/racer/UpdatePhoneNumber", { phoneNumber: `+1415555010${i}` })
        )
      ])
      expect(answers.map((a) => a.status).sort()).toEqual([...Array(16).fill(201), ...Array(4).fill(200)].sort())
      const numbers = async (organizationId: string) =>
        (await all<{ n: number }>(
          `SELECT organization_sequence AS n FROM events WHERE organization_id = '${organizationId}' ORDER BY sequence`
        )).map((r) => r.n)
      expect(await numbers("org_x")).toEqual(Array.from({ length: 13 }, (_, i) => i + 1))
      expect(await numbers("org_y")).toEqual(Array.from({ length: 8 }, (_, i) => i + 1))
      expect((await auditOf(db)).broken).toBeUndefined()
    } finally {
      await handler.dispose()
    }
  })
})
