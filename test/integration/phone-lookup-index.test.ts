/**
 * Lookup by number on 10,000 users of a real SQLite file: answered from users_phone_number_key (the query plan says
 * so), rows written before the index or under another key keyed again first, and erasure leaving no key behind.
 */
import Database from "better-sqlite3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SELECT_BY_KEYS } from "../../src/layers/sql/user-lookup-store.js"
import { call } from "../support/client.js"
import { makeSqliteFixture, type SqliteFixture } from "../support/sqlite-fixture.js"

const USERS = 10_000
const number = (i: number) => `+1415${String(2_000_000 + i).padStart(7, "0")}`

let f: SqliteFixture
let looker: string

beforeAll(async () => {
  f = await makeSqliteFixture()
  looker = await f.serviceToken("users:lookup users:write users:erase")
  // Rows as a store written before migration 0010 holds them: numbers without keys.
  const db = new Database(f.filename)
  const insert = db.prepare(
    "INSERT INTO users (organization_id, id, phone_number, phone_number_verified, version, created_at, updated_at) " +
      "VALUES (?, ?, ?, ?, 1, '2026-01-01', '2026-01-01')"
  )
  db.transaction(() => {
    for (let i = 0; i < USERS; i++) insert.run(f.tenant.organizationId, `bulk_${i}`, number(i), i % 2)
  })()
  db.close()
})
afterAll(() => f.dispose())

const lookup = (fetch: SqliteFixture["fetch"], phoneNumbers: Array<string>, token = looker) =>
  call(fetch, "POST", "/users/lookup", { token, apiKey: f.tenant.apiKey, body: { phoneNumbers } })

describe("lookup by number on 10,000 users", () => {
  it("keys the rows written before the index on the first lookup, then finds them", async () => {
    const answer = await lookup(f.fetch, [number(0), number(4_321), number(9_999)])
    expect(answer.body.matches).toEqual([
      { phoneNumber: number(0), userId: "bulk_0", maskedPhoneNumber: "****0000", phoneNumberVerified: false },
      { phoneNumber: number(4_321), userId: "bulk_4321", maskedPhoneNumber: "****4321", phoneNumberVerified: true },
      { phoneNumber: number(9_999), userId: "bulk_9999", maskedPhoneNumber: "****9999", phoneNumberVerified: true }
    ])
    expect(f.query("SELECT count(*) AS n FROM users WHERE phone_number IS NOT NULL AND phone_number_key IS NULL"))
      .toEqual([{ n: 0 }])
  })

  it("answers from the index: the plan searches users_phone_number_key and never scans users", () => {
    const plan = f.query<{ detail: string }>(
      `EXPLAIN QUERY PLAN ${SELECT_BY_KEYS(50)}`,
      f.tenant.organizationId,
      ...Array.from({ length: 50 }, (_, i) => `k:${i}`)
    ).map((row) => row.detail)
    expect(plan.join("\n")).toMatch(
      /^SEARCH users USING INDEX users_phone_number_key \(organization_id=\? AND phone_number_key=\?\)/
    )
    expect(plan.join("\n")).not.toMatch(/SCAN users/)
  })

  it("keys every row again after the key changes (a new PHONE_FINGERPRINT_KEY), so nothing is missed", async () => {
    const rekeyed = await makeSqliteFixture({
      filename: f.filename,
      phoneFingerprintKey: "another-phone-fingerprint-key-0123456789"
    })
    try {
      const token = await rekeyed.serviceToken("users:lookup", f.tenant.organizationId)
      const answer = await call(rekeyed.fetch, "POST", "/users/lookup", {
        token,
        apiKey: f.tenant.apiKey,
        body: { phoneNumbers: [number(7), number(8_888)] }
      })
      expect(answer.body.matches.map((m: { userId: string }) => m.userId)).toEqual(["bulk_7", "bulk_8888"])
      const prefixes = rekeyed.query<{ prefix: string }>(
        "SELECT DISTINCT substr(phone_number_key, 1, 9) AS prefix FROM users WHERE phone_number_key IS NOT NULL"
      )
      expect(prefixes).toHaveLength(1)
    } finally {
      await rekeyed.dispose()
    }
  })

  it("an erased user's key goes with the number, and a row cannot keep a key without a number", async () => {
    const created = await call(f.fetch, "POST", "/users", {
      token: looker,
      apiKey: f.tenant.apiKey,
      body: { id: "to_erase", phoneNumber: number(USERS) }
    })
    expect(created.status).toBe(201)
    expect((await lookup(f.fetch, [number(USERS)])).body.matches).toHaveLength(1)
    const erased = await call(f.fetch, "POST", "/users/to_erase/ErasePersonalData", {
      token: looker,
      apiKey: f.tenant.apiKey
    })
    expect(erased.status).toBe(200)
    expect(f.query("SELECT phone_number, phone_number_key FROM users WHERE id = 'to_erase'")).toEqual([
      { phone_number: null, phone_number_key: null }
    ])
    expect((await lookup(f.fetch, [number(USERS)])).body.matches).toEqual([])
    const db = new Database(f.filename)
    try {
      expect(() => db.prepare("UPDATE users SET phone_number_key = 'x:y' WHERE id = 'to_erase'").run()).toThrow(
        /a phone number key without a phone number/
      )
    } finally {
      db.close()
    }
  })
})
