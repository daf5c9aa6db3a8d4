/**
 * migrations/0003_idempotency_principal.sql on an SQLite file that already has 0002 and rows in idempotency_keys, as
 * a server started after the upgrade finds it: the start-up migration (src/layers/sql/migrate.ts) rebuilds the table
 * with the principal in its key and a user_id column, drops the old rows (their plain SHA-256 request hashes could
 * give numbers back, and nothing could replay them), and the service then keeps keys per caller.
 */
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { issueApiKeySql } from "../../src/admin/tenants.js"
import { DEV_AUDIENCE, DEV_ISSUER, generateSigningKey, jwksOf, signServiceToken } from "../../src/dev/signing.js"
import { makeFetchHandler } from "../../src/fetch-handler.js"
import { applyMigrations, readMigrations } from "../../src/layers/sql/migrate.js"
import { SqliteNodeServices } from "../../src/layers/sqlite/node.js"
import { call } from "../support/client.js"
import { TEST_IDEMPOTENCY_HASH_KEY } from "../support/sqlite-fixture.js"

const dir = mkdtempSync(join(tmpdir(), "users-api-0003-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const OLD_ROW = "INSERT INTO idempotency_keys (organization_id, idempotency_key, request_hash, state, lock_token, " +
  "response_status, response_headers, response_body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

describe("migrations/0003 over a database with 0002 rows", () => {
  it("rebuilds idempotency_keys per (organization, principal, key), drops the old rows, and the service runs on it", async () => {
    const filename = join(dir, "upgraded.sqlite")
    const db = new Database(filename)
    applyMigrations(db, readMigrations().filter((m) => m.name < "0003"))
    const at = "2026-03-01T00:00:00.000Z"
    db.prepare("INSERT INTO organizations (id, name, created_at) VALUES ('org_up', 'up', ?)").run(at)
    const issued = await issueApiKeySql("org_up", "upgrade", "key_up", at)
    db.exec(issued.sql)
    const later = "2999-01-01T00:00:00.000Z"
    db.prepare(OLD_ROW).run("org_up", "done", "a".repeat(64), "completed", null, 200, "{}", "{}", at, later)
    db.prepare(OLD_ROW).run("org_up", "running", "b".repeat(64), "in_progress", "lock", null, null, null, at, later)
    expect(db.prepare("SELECT COUNT(*) AS n FROM idempotency_keys").get()).toEqual({ n: 2 })
    db.close()

    // A server starting on the file applies what it has not seen yet (prepareSqliteFile in SqliteNodeServices).
    const key = await generateSigningKey("upgrade")
    const handler = makeFetchHandler(
      SqliteNodeServices(filename, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, jwks: jwksOf(key) }),
      { log: () => {}, idempotencyHashKey: TEST_IDEMPOTENCY_HASH_KEY }
    )
    try {
      const reader = new Database(filename, { readonly: true })
      const applied = reader.prepare("SELECT name FROM d1_migrations ORDER BY id").pluck().all()
      expect(applied).toEqual(readMigrations().map((m) => m.name))
      const columns = reader.prepare("PRAGMA table_info(idempotency_keys)").all() as Array<{ name: string; pk: number }>
      expect(columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name)).toEqual([
        "organization_id",
        "principal",
        "idempotency_key"
      ])
      expect(columns.map((c) => c.name)).toContain("user_id")
      expect(reader.prepare("SELECT COUNT(*) AS n FROM idempotency_keys").get()).toEqual({ n: 0 })
      const indexes = reader.prepare("PRAGMA index_list(idempotency_keys)").all() as Array<{ name: string }>
      expect(indexes.map((i) => i.name)).toEqual(
        expect.arrayContaining(["idempotency_keys_expires_at", "idempotency_keys_user"])
      )

      // The keys of before the upgrade are gone: "done" runs as a new request, under the caller's principal.
      const token = await signServiceToken(key, "svc_up", "org_up", "users:write")
      const created = await call(handler.fetch, "POST", "/users", {
        token,
        apiKey: issued.apiKey,
        body: { id: "u_up" },
        headers: { "idempotency-key": "done" }
      })
      expect(created.status).toBe(201)
      expect(reader.prepare("SELECT principal, state FROM idempotency_keys").all()).toEqual([
        { principal: "service:svc_up", state: "completed" }
      ])
      reader.close()
    } finally {
      await handler.dispose()
    }
  })
})
