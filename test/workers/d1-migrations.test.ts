/**
 * migrations/ on real local D1, as applied by applyD1Migrations: tables, and the triggers (BEGIN ... END)
 * that keep events append-only and tied to their user row's version.
 */
import { describe, expect, it } from "@effect/vitest"
import { applyD1Migrations, env } from "cloudflare:test"
import { rows } from "./support/d1-fixture.js"

const GENESIS = "0".repeat(64)

const insertEvent = (eventId: string, version: number, chainSequence = version, prevHash = GENESIS) =>
  env.DB.prepare(
    "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, occurred_at, " +
      "chain_sequence, prev_hash, hash) " +
      "VALUES (?, 'org_m', 'User', 'u_m', ?, 'UserCreated', '{}', '{}', '2026-03-01T00:00:00.000Z', ?, ?, ?)"
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

  it("creates the four triggers whole, bodies included", async () => {
    const triggers = await rows<{ name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    )
    expect(triggers.map((t) => t.name)).toEqual([
      "events_extend_chain",
      "events_match_user_version",
      "events_no_delete",
      "events_no_update"
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
    await expect(insertEvent("e2", 2, 2, "hash-e1").run()).rejects.toThrow(/event version does not match the user row/)
    expect(await rows("SELECT event_id FROM events WHERE aggregate_id = 'u_m'")).toEqual([{ event_id: "e1" }])
  })

  it("refuses an event that does not extend its organization's audit chain", async () => {
    await givenUserWithEvent()
    await env.DB.prepare("UPDATE users SET version = 2 WHERE id = 'u_m'").run()
    await expect(insertEvent("e2", 2, 2, GENESIS).run()).rejects.toThrow(/does not extend the audit chain/)
    await expect(insertEvent("e3", 2, 1, GENESIS).run()).rejects.toThrow(
      /UNIQUE constraint failed: events.organization_id, events.chain_sequence/
    )
    expect(await rows("SELECT event_id FROM events WHERE aggregate_id = 'u_m'")).toEqual([{ event_id: "e1" }])
  })
})
