/**
 * Seeds a migrated SQLite file (the Bun or Deno server's, or the one behind local D1) directly: the bench
 * organization, its API key (hash only) and N users at version 1, each with its UserCreated event linked into
 * the organization's audit chain exactly as the service links them (src/audit/chain.ts `nextLink`).
 */
import { Database } from "bun:sqlite"
import { Effect } from "effect"
import { uuidv7 } from "../../src/app/context.js"
import { type ChainHead, emptyHead, nextLink, type StoredLink, verifyChain } from "../../src/audit/chain.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import type { UserCreated } from "../../src/domain/user.js"
import { applyMigrations, tuneSqlite } from "../../src/layers/sql/migrate.js"
import { type EventRow, SELECT_CHAIN, toStoredLink } from "../../src/layers/sql/rows.js"
import { type BenchUser, ORGANIZATION_ID, SERVICE_ID } from "./workload.js"

export interface SeedInput {
  readonly apiKeyHash: string
  readonly users: ReadonlyArray<BenchUser>
}

/** Applies every migration in migrations/ (a no-op for those already recorded), then inserts the tenant. */
export const seedSqliteFile = async (filename: string, { apiKeyHash, users }: SeedInput): Promise<void> => {
  const db = new Database(filename, { create: true, readwrite: true })
  try {
    tuneSqlite(db)
    applyMigrations(db)
    const now = new Date().toISOString()
    const rows: Array<Array<string | number | null>> = []
    let head: ChainHead = emptyHead
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
          organizationId: ORGANIZATION_ID,
          actor: { type: "service", id: SERVICE_ID },
          requestId: "bench-seed"
        }
      }
      const link = await nextLink(head, event)
      head = { sequence: link.chainSequence, hash: link.hash }
      rows.push([
        event.id,
        user.id,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        link.chainSequence,
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
        "occurred_at, chain_sequence, prev_hash, hash) VALUES (?, ?, 'User', ?, 1, 'UserCreated', ?, ?, ?, ?, ?, ?)"
    )
    const insertOrganization = db.prepare(
      "INSERT INTO organizations (id, name, created_at) VALUES (?, 'Bench organization', ?)"
    )
    const insertKey = db.prepare(
      "INSERT INTO api_keys (id, organization_id, key_hash, label, created_at) VALUES ('key_bench', ?, ?, 'bench', ?)"
    )
    try {
      db.transaction(() => {
        insertOrganization.run(ORGANIZATION_ID, now)
        insertKey.run(ORGANIZATION_ID, apiKeyHash, now)
        users.forEach((user, i) => {
          const [eventId, aggregateId, data, metadata, sequence, prevHash, hash] = rows[i]!
          insertUser.run(ORGANIZATION_ID, user.id, user.seeded, now, now)
          insertEvent.run(eventId!, ORGANIZATION_ID, aggregateId!, data!, metadata!, now, sequence!, prevHash!, hash!)
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

/** After a run: how many events the organization holds, and whether its audit chain still verifies. */
export const checkSqliteFile = async (filename: string): Promise<StoreCheck> => {
  const db = new Database(filename, { readonly: true })
  try {
    const select = db.prepare(SELECT_CHAIN)
    const rows = select.all() as Array<EventRow>
    select.finalize()
    const links: Array<StoredLink> = rows.map(toStoredLink)
    const verification = await verifyChain(links)
    return { events: rows.length, chainIntact: verification.broken === undefined }
  } finally {
    db.close()
  }
}
