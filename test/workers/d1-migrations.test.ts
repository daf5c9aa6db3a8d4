/**
 * migrations/ on real local D1, as applied by applyD1Migrations: tables, and the triggers (BEGIN ... END)
 * that keep events append-only, tied to their user row's version and linked to their user's previous event.
 */
import { D1Client } from "@effect/sql-d1"
import { describe, expect, it } from "@effect/vitest"
import { applyD1Migrations, env } from "cloudflare:test"
import { Effect } from "effect"
import { ensureOrganization, issueApiKey } from "../../src/admin/tenants.js"
import { signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { D1Services } from "../../src/layers/d1.js"
import { BASE_URL, handlerOptions, jwtConfig, testKey } from "./support/d1-fixture.js"
import { rows } from "./support/d1-fixture.js"

const GENESIS = "0".repeat(64)

const insertEvent = (eventId: string, version: number, chainSequence: number | null = null, prevHash = GENESIS) =>
  env.DB.prepare(
    "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, occurred_at, " +
      "chain_sequence, prev_hash, hash, organization_sequence) " +
      "VALUES (?, 'org_m', 'User', 'u_m', ?, 'UserCreated', '{}', '{}', '2026-03-01T00:00:00.000Z', ?, ?, ?, " +
      "(SELECT COALESCE(max(organization_sequence), 0) + 1 FROM events WHERE organization_id = 'org_m'))"
  ).bind(eventId, version, chainSequence, prevHash, `hash-${eventId}`)

const givenUserWithEvent = () =>
  env.DB.batch([
    env.DB.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_m', 'm', '2026-03-01')"),
    env.DB.prepare(
      "INSERT INTO users (organization_id, id, phone_number, version, created_at, updated_at) " +
        "VALUES ('org_m', 'u_m', NULL, 1, '2026-03-01', '2026-03-01')"
    ),
    insertEvent("e1", 1)
  ])

describe("the migrations on D1", () => {
  it("records every migration file once, so applying them again changes nothing", async () => {
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS)
    const applied = await rows<{ name: string }>("SELECT name FROM d1_migrations ORDER BY id")
    expect(applied.map((m) => m.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name))
  })

  it("creates the fourteen triggers whole, bodies included", async () => {
    const triggers = await rows<{ name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    )
    expect(triggers.map((t) => t.name)).toEqual([
      "audit_checkpoints_extend",
      "audit_checkpoints_no_delete",
      "audit_checkpoints_no_update",
      "events_extend_user_chain",
      "events_match_user_version",
      "events_no_delete",
      "events_no_organization_chain",
      "events_no_update",
      "events_organization_sequence",
      "redacted_events_erased_only",
      "redacted_events_no_delete",
      "redacted_events_no_update",
      "users_number_key_needs_number_insert",
      "users_number_key_needs_number_update"
    ])
    for (const trigger of triggers) expect(trigger.sql).toMatch(/BEGIN\s+SELECT RAISE\(ABORT, '[^']+'\);\s+END$/)
  })

  it("refuses to update or delete an event", async () => {
    await givenUserWithEvent()
    await expect(env.DB.prepare("UPDATE events SET type = 'Tampered' WHERE event_id = 'e1'").run())
      .rejects.toThrow(/events are append-only/)
    await expect(env.DB.prepare("DELETE FROM events WHERE event_id = 'e1'").run()).rejects.toThrow(
      /events are append-only/
    )
    expect(await rows("SELECT type FROM events WHERE event_id = 'e1'")).toEqual([{ type: "UserCreated" }])
  })

  it("refuses an event whose version is not its user row's", async () => {
    await givenUserWithEvent()
    await expect(insertEvent("e2", 2, null, "hash-e1").run()).rejects.toThrow(
      /event version does not match the user row/
    )
    expect(await rows("SELECT event_id FROM events WHERE aggregate_id = 'u_m'")).toEqual([{ event_id: "e1" }])
  })

  it("refuses an event that does not extend its user's chain, or takes a place in the closed organization-wide one", async () => {
    await givenUserWithEvent()
    await env.DB.prepare("UPDATE users SET version = 2 WHERE id = 'u_m'").run()
    await expect(insertEvent("e2", 2, null, GENESIS).run()).rejects.toThrow(/does not extend its user chain/)
    await expect(insertEvent("e3", 2, 2, "hash-e1").run()).rejects.toThrow(/the organization-wide chain is closed/)
    await insertEvent("e4", 2, null, "hash-e1").run()
    expect(await rows("SELECT event_id FROM events WHERE aggregate_id = 'u_m' ORDER BY version")).toEqual([
      { event_id: "e1" },
      { event_id: "e4" }
    ])
  })
})

describe("migrations/0004 on a D1 database whose events form one chain per organization", () => {
  const legacy = env.LEGACY_CHAIN_DB
  const all = <T>(sql: string) => legacy.prepare(sql).all<T>().then((result) => result.results)

  it("keeps every event, sequence and link, and the next event of a user links to its last legacy one", async () => {
    await applyD1Migrations(legacy, env.TEST_MIGRATIONS.filter((m) => m.name < "0004"))
    const event = (id: string, user: string, version: number, chainSequence: number, prevHash: string) =>
      legacy.prepare(
        "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
          "occurred_at, chain_sequence, prev_hash, hash) VALUES (?, 'org_l', 'User', ?, ?, 'UserCreated', '{}', '{}', " +
          "'2026-03-01', ?, ?, ?)"
      ).bind(id, user, version, chainSequence, prevHash, `h-${id}`)
    await legacy.batch([
      legacy.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_l', 'l', '2026-03-01')"),
      legacy.prepare(
        "INSERT INTO users (organization_id, id, version, created_at, updated_at) VALUES ('org_l', 'a', 1, 'x', 'x'), " +
          "('org_l', 'b', 1, 'x', 'x')"
      ),
      event("l1", "a", 1, 1, GENESIS),
      event("l2", "b", 1, 2, "h-l1")
    ])
    const before = await all("SELECT sequence, event_id, chain_sequence, prev_hash, hash FROM events ORDER BY sequence")

    await applyD1Migrations(legacy, env.TEST_MIGRATIONS)
    expect(await all("SELECT sequence, event_id, chain_sequence, prev_hash, hash FROM events ORDER BY sequence"))
      .toEqual(before)
    await legacy.batch([
      legacy.prepare("UPDATE users SET version = 2 WHERE organization_id = 'org_l' AND id = 'a'"),
      legacy.prepare(
        "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
          "occurred_at, chain_sequence, prev_hash, hash, organization_sequence) VALUES ('n1', 'org_l', 'User', 'a', 2, " +
          "'X', '{}', '{}', 'x', NULL, 'h-l1', 'h-n1', 3)"
      )
    ])
    const next = await all<{ sequence: number; prev_hash: string }>(
      "SELECT sequence, prev_hash FROM events WHERE event_id = 'n1'"
    )
    expect(next).toEqual([{ sequence: 3, prev_hash: "h-l1" }])
  })
})

describe("migrations/0003 on a D1 database that has 0002 and rows in idempotency_keys", () => {
  const upgrade = env.UPGRADE_DB
  const all = <T>(sql: string) => upgrade.prepare(sql).all<T>().then((result) => result.results)

  it("rebuilds the table per (organization, principal, key), drops the old rows, and the service runs on it", async () => {
    await applyD1Migrations(upgrade, env.TEST_MIGRATIONS.filter((m) => m.name < "0003"))
    const insert = upgrade.prepare(
      "INSERT INTO idempotency_keys (organization_id, idempotency_key, request_hash, state, lock_token, response_status, " +
        "response_headers, response_body, created_at, expires_at) VALUES ('org_up', ?, ?, ?, ?, ?, ?, ?, " +
        "'2026-03-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')"
    )
    await upgrade.batch([
      upgrade.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_up', 'up', '2026-03-01')"),
      insert.bind("done", "a".repeat(64), "completed", null, 200, "{}", "{}"),
      insert.bind("running", "b".repeat(64), "in_progress", "lock", null, null, null)
    ])
    expect(await all("SELECT idempotency_key FROM idempotency_keys ORDER BY idempotency_key")).toEqual([
      { idempotency_key: "done" },
      { idempotency_key: "running" }
    ])

    await applyD1Migrations(upgrade, env.TEST_MIGRATIONS)
    const applied = await all<{ name: string }>("SELECT name FROM d1_migrations ORDER BY id")
    expect(applied.map((m) => m.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name))
    const columns = await all<{ name: string; pk: number }>("PRAGMA table_info(idempotency_keys)")
    expect(columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name)).toEqual([
      "organization_id",
      "principal",
      "idempotency_key"
    ])
    expect(columns.map((c) => c.name)).toContain("user_id")
    expect(await all("SELECT * FROM idempotency_keys")).toEqual([])

    // The upgraded database serves: a key from before the upgrade is a new request, kept under its caller.
    const { apiKey } = await Effect.runPromise(
      Effect.gen(function*() {
        yield* ensureOrganization("org_up", "up")
        return yield* issueApiKey("org_up", "upgrade")
      }).pipe(Effect.provide(D1Client.layer({ db: upgrade })))
    )
    const handler = makeFetchHandler(D1Services(upgrade, jwtConfig), handlerOptions)
    try {
      const token = await signServiceToken(testKey, "svc_up", "org_up", "users:write")
      const created = await handler.fetch(
        new Request(`${BASE_URL}/users`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "x-api-key": apiKey,
            "content-type": "application/json",
            "idempotency-key": "done"
          },
          body: JSON.stringify({ id: "u_up" })
        })
      )
      expect(created.status).toBe(201)
      expect(await all("SELECT principal, state FROM idempotency_keys")).toEqual([
        { principal: "service:svc_up", state: "completed" }
      ])
    } finally {
      await handler.dispose()
    }
  })
})
