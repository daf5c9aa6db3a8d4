/**
 * The tamper-evident audit trail over a real database: each user's events linked by version, no writer contending
 * for an organization-wide head, checkpoints sealing what an organization wrote, and `npm run audit:verify`
 * reporting an edited, a deleted, a swapped, a rewritten and a truncated event in a copy of the file.
 */
import Database from "better-sqlite3"
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { GENESIS_HASH, linkHash } from "../../src/audit/chain.js"
import { toEvent } from "../../src/layers/sql/rows.js"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let copies = 0
const workdir = mkdtempSync(join(tmpdir(), "audit-"))

/** A consistent copy of the live file, with its guarding triggers dropped, as an attacker with file access would. */
const tamperableCopy = (): Database.Database & { path: string } => {
  const path = join(workdir, `copy-${++copies}.sqlite`)
  const source = new Database(f.filename, { readonly: true })
  source.exec(`VACUUM INTO '${path}'`)
  source.close()
  const db = new Database(path) as Database.Database & { path: string }
  db.path = path
  for (
    const trigger of ["events_no_update", "events_no_delete", "events_extend_user_chain", "events_match_user_version"]
  ) {
    db.exec(`DROP TRIGGER ${trigger}`)
  }
  return db
}

const verify = (path: string): { code: number; out: string } => {
  try {
    const out = execFileSync("node_modules/.bin/bun", ["scripts/audit-verify.ts", "--db", path], { encoding: "utf8" })
    return { code: 0, out }
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string }
    return { code: failed.status, out: failed.stdout + failed.stderr }
  }
}

const org = () => f.tenant.organizationId

beforeAll(async () => {
  f = await makeSqliteFixture()
  const service = await f.serviceToken()
  const auth = { token: service, apiKey: f.tenant.apiKey }
  // Concurrent writers on different users of one organization: each extends its own user's chain.
  await Promise.all(
    Array.from(
      { length: 12 },
      (_, i) => call(f.fetch, "POST", "/users", { ...auth, body: { id: `a${i}`, phoneNumber: `+1415555${2600 + i}` } })
    )
  )
  await Promise.all(
    Array.from(
      { length: 12 },
      (_, i) => call(f.fetch, "POST", `/users/a${i}/UpdatePhoneNumber`, { ...auth, body: { phoneNumber: null } })
    )
  )
  // Sealed by a checkpoint; then two events after it, sealed by nothing yet.
  const auditor = await f.serviceToken("audit:read")
  const head = await call(f.fetch, "GET", `/organizations/${org()}/audit/head`, {
    token: auditor,
    apiKey: f.tenant.apiKey
  })
  expect(head.body).toMatchObject({ sequence: 1, eventCount: 24 })
  await call(f.fetch, "POST", "/users", { ...auth, body: { id: "late" } })
  await call(f.fetch, "POST", "/users/late/UpdatePhoneNumber", { ...auth, body: { phoneNumber: "+14155552699" } })
  const other = await f.serviceToken("users:write", f.other.organizationId)
  await call(f.fetch, "POST", "/users", { token: other, apiKey: f.other.apiKey, body: { id: "b1" } })
}, 60_000)
afterAll(() => f.dispose())

describe("the audit trail", () => {
  it("links each user's events by version, from the genesis hash, with no organization-wide position", () => {
    const rows = f.query<{ version: number; prev_hash: string; hash: string; chain_sequence: number | null }>(
      "SELECT version, prev_hash, hash, chain_sequence FROM events WHERE organization_id = ? AND aggregate_id = 'a3' " +
        "ORDER BY version",
      org()
    )
    expect(rows.map((r) => r.version)).toEqual([1, 2])
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH)
    expect(rows[1]!.prev_hash).toBe(rows[0]!.hash)
    expect(rows.map((r) => r.chain_sequence)).toEqual([null, null])
    const [stored] = f.query<any>(
      "SELECT * FROM events WHERE organization_id = ? AND aggregate_id = 'a3' AND version = 2",
      org()
    )
    expect(linkHash(stored.prev_hash, toEvent(stored))).toBe(stored.hash)
  })

  it("verifies a real database and says up to which checkpoint each organization is sealed", () => {
    const copy = tamperableCopy()
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(0)
    expect(result.out).toMatch(/27 events checked in 2 organization\(s\)/)
    const [checkpoint] = f.query<{ hash: string }>(
      "SELECT hash FROM audit_checkpoints WHERE organization_id = ?",
      org()
    )
    expect(result.out).toContain(
      `${org()}: 26 events of 13 users, sealed up to checkpoint 1 (event 24), hash ${checkpoint!.hash}; ` +
        "2 later events protected by their users' links only"
    )
    expect(result.out).toContain(`${f.other.organizationId}: 1 events of 1 users, no checkpoint yet`)
  })

  it("reports an edited event", () => {
    const copy = tamperableCopy()
    copy.prepare("UPDATE events SET data = ? WHERE organization_id = ? AND aggregate_id = 'a5' AND version = 1")
      .run(JSON.stringify({ maskedPhoneNumber: "****0000" }), org())
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(new RegExp(`BROKEN in organization ${org()} at user a5 version 1 .*edited`))
  })

  it("reports a deleted event", () => {
    const copy = tamperableCopy()
    copy.prepare("DELETE FROM events WHERE organization_id = ? AND aggregate_id = 'a7' AND version = 1").run(org())
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at user a7 version 1: a version of this user is missing/)
  })

  it("reports a swapped pair", () => {
    const copy = tamperableCopy()
    const swap = copy.transaction(() => {
      const set = "UPDATE events SET version = ? WHERE organization_id = ? AND aggregate_id = 'a9' AND version = ?"
      copy.prepare(set).run(1000, org(), 1)
      copy.prepare(set).run(1, org(), 2)
      copy.prepare(set).run(2, org(), 1000)
    })
    swap()
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at user a9 version 1 .*(does not link|edited)/)
  })

  it("reports an event rewritten with a recomputed link at the checkpoint that sealed it", () => {
    const copy = tamperableCopy()
    // The newest event of a1, its data and hash rewritten consistently: no link breaks, only the sealed root.
    const [stored] = copy.prepare(
      "SELECT * FROM events WHERE organization_id = ? AND aggregate_id = 'a1' AND version = 2"
    ).all(org()) as Array<any>
    const forged = { ...stored, data: JSON.stringify({ ...JSON.parse(stored.data), previousMaskedPhoneNumber: null }) }
    copy.prepare("UPDATE events SET data = ?, hash = ? WHERE sequence = ?")
      .run(forged.data, linkHash(stored.prev_hash, toEvent(forged)), stored.sequence)
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at checkpoint 1: the users' heads this checkpoint sealed are not the stored ones/)
  })

  it("reports a truncated history (a sealed newest event deleted and its row rolled back) at its checkpoint", () => {
    const copy = tamperableCopy()
    copy.prepare("DELETE FROM events WHERE organization_id = ? AND aggregate_id = 'a2' AND version = 2").run(org())
    copy.prepare("UPDATE users SET version = 1 WHERE organization_id = ? AND id = 'a2'").run(org())
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at checkpoint 1: the events this checkpoint sealed are not all there/)
  })

  it("reports an unsealed newest event deleted, at its user's row", () => {
    const copy = tamperableCopy()
    copy.prepare("DELETE FROM events WHERE organization_id = ? AND aggregate_id = 'late' AND version = 2").run(org())
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at user late version 2: this user's row is at a version its events do not reach/)
  })

  it("refuses, in the live store, an event that does not extend its user's chain, claims an organization-wide place or skips a number", () => {
    const db = new Database(f.filename)
    try {
      db.prepare("UPDATE users SET version = 3 WHERE organization_id = ? AND id = 'a4'").run(org())
      const [{ next }] = db.prepare(
        "SELECT max(organization_sequence) + 1 AS next FROM events WHERE organization_id = ?"
      ).all(org()) as [{ next: number }]
      const insert = (chainSequence: number | null, prevHash: string, number = next) => () =>
        db.prepare(
          "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
            "occurred_at, chain_sequence, prev_hash, hash, organization_sequence) " +
            "VALUES (?, ?, 'User', 'a4', 3, 'Forged', '{}', '{}', 'now', ?, ?, ?, ?)"
        ).run(crypto.randomUUID(), org(), chainSequence, prevHash, "1".repeat(64), number)
      expect(insert(null, GENESIS_HASH)).toThrow(/does not extend its user chain/)
      const [head] = db.prepare(
        "SELECT hash FROM events WHERE organization_id = ? AND aggregate_id = 'a4' AND version = 2"
      )
        .all(org()) as Array<{ hash: string }>
      expect(insert(99, head!.hash)).toThrow(/the organization-wide chain is closed/)
      expect(insert(null, head!.hash, next + 1)).toThrow(/does not take the next number of its organization/)
      expect(insert(null, head!.hash, next - 1)).toThrow(/UNIQUE constraint failed: events.organization_id/)
    } finally {
      db.prepare("UPDATE users SET version = 2 WHERE organization_id = ? AND id = 'a4'").run(org())
      db.close()
    }
  })

  it("refuses a checkpoint that does not extend the organization's last one", () => {
    const db = new Database(f.filename)
    try {
      const insert = (sequence: number, prevHash: string) => () =>
        db.prepare(
          "INSERT INTO audit_checkpoints (organization_id, sequence, up_to_event_sequence, event_count, root, prev_hash, " +
            "hash, created_at) VALUES (?, ?, 999, 0, 'r', ?, 'h', 'now')"
        ).run(org(), sequence, prevHash)
      expect(insert(2, GENESIS_HASH)).toThrow(/checkpoint does not extend/)
      expect(insert(1, GENESIS_HASH)).toThrow(/UNIQUE constraint failed|checkpoint does not extend/)
      expect(() => db.prepare("DELETE FROM audit_checkpoints").run()).toThrow(/append-only/)
    } finally {
      db.close()
    }
  })
})
