/**
 * The tamper-evident audit chain: built inside the atomic write, never forked by concurrent writers, and
 * `npm run audit:verify` reports an edited, a deleted and a swapped event in a copy of a real database.
 */
import Database from "better-sqlite3"
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

let f: SqliteFixture
let copies = 0
const workdir = mkdtempSync(join(tmpdir(), "audit-"))

/** A consistent copy of the live file, with the append-only triggers dropped, as an attacker with file access would. */
const tamperableCopy = (): Database.Database & { path: string } => {
  const path = join(workdir, `copy-${++copies}.sqlite`)
  const source = new Database(f.filename, { readonly: true })
  source.exec(`VACUUM INTO '${path}'`)
  source.close()
  const db = new Database(path) as Database.Database & { path: string }
  db.path = path
  db.exec("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DROP TRIGGER events_extend_chain")
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

beforeAll(async () => {
  f = await makeSqliteFixture()
  const service = await f.serviceToken()
  const auth = { token: service, apiKey: f.tenant.apiKey }
  // Concurrent writers on different users of one organization all extend the same chain.
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
  const other = await f.serviceToken("users:write", f.other.organizationId)
  await call(f.fetch, "POST", "/users", { token: other, apiKey: f.other.apiKey, body: { id: "b1" } })
})
afterAll(() => f.dispose())

describe("the audit chain", () => {
  it("links every event of an organization in one unbroken sequence, even under concurrent writers", () => {
    const rows = f.query<{ chain_sequence: number }>(
      "SELECT chain_sequence FROM events WHERE organization_id = ? ORDER BY chain_sequence",
      f.tenant.organizationId
    )
    expect(rows.map((r) => r.chain_sequence)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
  })

  it("verifies a real database and prints the count and each head", () => {
    const copy = tamperableCopy()
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(0)
    expect(result.out).toMatch(/25 events checked in 2 organization\(s\)/)
    const [head] = f.query<{ hash: string }>(
      "SELECT hash FROM events WHERE organization_id = ? ORDER BY chain_sequence DESC LIMIT 1",
      f.tenant.organizationId
    )
    expect(result.out).toContain(`head ${f.tenant.organizationId}: sequence 24, hash ${head!.hash}`)
  })

  it("reports an edited event", () => {
    const copy = tamperableCopy()
    copy.prepare("UPDATE events SET data = ? WHERE organization_id = ? AND chain_sequence = 5")
      .run(JSON.stringify({ maskedPhoneNumber: "****0000" }), f.tenant.organizationId)
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(
      new RegExp(`BROKEN in organization ${f.tenant.organizationId} at chain sequence 5 .*edited`)
    )
  })

  it("reports a deleted event", () => {
    const copy = tamperableCopy()
    copy.prepare("DELETE FROM events WHERE organization_id = ? AND chain_sequence = 7").run(f.tenant.organizationId)
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at chain sequence 7: an event is missing/)
  })

  it("reports a swapped pair", () => {
    const copy = tamperableCopy()
    const org = f.tenant.organizationId
    const swap = copy.transaction(() => {
      copy.prepare("UPDATE events SET chain_sequence = 1000 WHERE organization_id = ? AND chain_sequence = 10").run(org)
      copy.prepare("UPDATE events SET chain_sequence = 10 WHERE organization_id = ? AND chain_sequence = 11").run(org)
      copy.prepare("UPDATE events SET chain_sequence = 11 WHERE organization_id = ? AND chain_sequence = 1000").run(org)
    })
    swap()
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/at chain sequence 10 .*does not link/)
  })

  it("reports an event rewritten with a recomputed hash, at the next link", () => {
    const copy = tamperableCopy()
    const org = f.tenant.organizationId
    // An attacker who rehashes one event still breaks the link from the event after it.
    copy.prepare("UPDATE events SET hash = ? WHERE organization_id = ? AND chain_sequence = 3").run("f".repeat(64), org)
    copy.close()
    const result = verify(copy.path)
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/chain sequence 3 /)
  })

  it("refuses an event that does not extend the chain, in the live store", () => {
    const db = new Database(f.filename)
    try {
      const insert = () =>
        db.prepare(
          "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
            "occurred_at, chain_sequence, prev_hash, hash) VALUES ('forged', ?, 'Audit', 'x', 1, 'Forged', '{}', '{}', 'now', 25, ?, ?)"
        ).run(f.tenant.organizationId, "0".repeat(64), "1".repeat(64))
      expect(insert).toThrow(/does not extend the audit chain/)
    } finally {
      db.close()
    }
  })
})
