/**
 * Seeds a migrated SQLite file (the Bun or Deno server's, or the one behind local D1) directly: the bench
 * organization (or another one, for benchmarks of many), its API key (hash only) and N users at version 1, each with
 * its UserCreated event as the first link of the user's audit chain, exactly as the service links it
 * (src/audit/chain.ts `nextLink`).
 */
import { Database } from "bun:sqlite"
import { Effect } from "effect"
import { uuidv7 } from "../../src/app/context.js"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserCreated } from "../../src/domain/events.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import { applyMigrations, tuneSqlite } from "../../src/layers/sql/migrate.js"
import { verifyAuditFile } from "../lib/audit-file.js"
import { type BenchUser, ORGANIZATION_ID, SERVICE_ID } from "./workload.js"

export interface SeedInput {
  readonly apiKeyHash: string
  readonly users: ReadonlyArray<BenchUser>
  /** ORGANIZATION_ID unless given; seeding the same file once per organization puts several in one store. */
  readonly organizationId?: string
}

/** Applies every migration in migrations/ (a no-op for those already recorded), then inserts the tenant. */
export const seedSqliteFile = async (
  filename: string,
  { apiKeyHash, organizationId = ORGANIZATION_ID, users }: SeedInput
): Promise<void> => {
  const db = new Database(filename, { create: true, readwrite: true })
  try {
    tuneSqlite(db)
    applyMigrations(db)
    const now = new Date().toISOString()
    const rows: Array<Array<string | number | null>> = []
    for (const user of users) {
      const event: UserCreated = {
        id: Effect.runSync(uuidv7),
        type: "UserCreated",
        aggregateType: "User",
        aggregateId: user.id,
        version: 1,
        occurredAt: now,
        data: { maskedPhoneNumber: maskPhoneNumber(user.seeded as E164) },
        metadata: {
          organizationId,
          actor: { type: "service", id: SERVICE_ID },
          requestId: "bench-seed"
        }
      }
      const link = nextLink(GENESIS_HASH, event)
      rows.push([
        event.id,
        user.id,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        link.prevHash,
        link.hash
      ])
    }
    const insertUser = db.prepare(
      "INSERT INTO users (organization_id, id, phone_number, phone_number_verified, erased_at, version, created_at, " +
        "updated_at) VALUES (?, ?, ?, 0, NULL, 1, ?, ?)"
    )
    const insertEvent = db.prepare(
      "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, metadata, " +
        "occurred_at, chain_sequence, prev_hash, hash, organization_sequence) " +
        "VALUES (?, ?, 'User', ?, 1, 'UserCreated', ?, ?, ?, NULL, ?, ?, ?)"
    )
    const insertOrganization = db.prepare(
      "INSERT INTO organizations (id, name, created_at) VALUES (?, 'Bench organization', ?)"
    )
    const insertKey = db.prepare(
      "INSERT INTO api_keys (id, organization_id, key_hash, label, created_at) VALUES (?, ?, ?, 'bench', ?)"
    )
    try {
      db.transaction(() => {
        insertOrganization.run(organizationId, now)
        insertKey.run(`key_${organizationId}`, organizationId, apiKeyHash, now)
        users.forEach((user, i) => {
          const [eventId, aggregateId, data, metadata, prevHash, hash] = rows[i]!
          insertUser.run(organizationId, user.id, user.seeded, now, now)
          insertEvent.run(eventId!, organizationId, aggregateId!, data!, metadata!, now, prevHash!, hash!, i + 1)
        })
      })()
    } finally {
      // Unfinalized, they would keep the connection open past close() until garbage collection, and its late real
      // close (a checkpoint under the file's lock) could meet the server starting on the file (database is locked).
      for (const statement of [insertOrganization, insertKey, insertUser, insertEvent]) statement.finalize()
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
  } finally {
    db.close()
  }
}

export interface StoreCheck {
  readonly events: number
  readonly chainIntact: boolean
}

/** After a run: how many events the store holds, and whether its audit chain still verifies (audit:verify's check). */
export const checkSqliteFile = async (filename: string): Promise<StoreCheck> => {
  const verification = verifyAuditFile(filename)
  return { events: verification.events.length, chainIntact: verification.broken === undefined }
}
