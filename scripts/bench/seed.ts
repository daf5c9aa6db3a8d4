/**
 * Seeds a migrated SQLite file (the Bun or Deno server's, or the one behind local D1) directly: the bench
 * organization (or another one, for benchmarks of many), its API key (hash only) and N users at version 1, each with
 * its UserCreated event as the first link of the user's audit chain, exactly as the service links it
 * (src/audit/chain.ts `nextLink`). Checks such a file after a run, and measures the storage ceiling on one.
 */
import { Database } from "bun:sqlite"
import { Effect } from "effect"
import { join } from "node:path"
import { uuidv7 } from "../../src/app/context.js"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserCreated, UserPhoneNumberUpdated } from "../../src/domain/events.js"
import { type E164, maskPhoneNumber } from "../../src/domain/phone.js"
import { applyMigrations, tuneSqlite } from "../../src/layers/sql/migrate.js"
import { changeStatements, SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"
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

/**
 * The storage ceiling: how many times per second bun:sqlite commits the service's two-statement write (the
 * users-row UPDATE and the event INSERT of src/layers/sql/rows.ts, triggers included) on a seeded file with
 * the server's pragmas (src/layers/sql/migrate.ts `tuneSqlite`), one transaction each, nothing else around it.
 * Also with the two reads a request makes inside its unit (the user row and the chain head).
 */
export interface Ceiling {
  readonly writeTxPerS: number
  readonly readWriteTxPerS: number
  readonly synchronous: number
}

export const storageCeiling = async (dir: string, users: ReadonlyArray<BenchUser>, seconds = 3): Promise<Ceiling> => {
  const filename = join(dir, "ceiling.sqlite")
  await seedSqliteFile(filename, { apiKeyHash: "ceiling", users })
  const db = new Database(filename)
  try {
    tuneSqlite(db)
    const synchronous = (db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous
    const versions = new Map(users.map((u) => [u.id, 1]))
    const heads = new Map<string, string>()
    let n = 0
    const one = (withReads: boolean) => {
      const user = users[n % users.length]!
      const phoneNumber = (Math.floor(n / users.length) % 2 === 0 ? user.first : user.seeded) as E164
      n++
      // The one read the service makes: the user's row with its chain head (else the head this loop remembers).
      const previousHash = withReads
        ? (db.query(SELECT_USER).get(ORGANIZATION_ID, user.id) as UserRow).head_hash ?? GENESIS_HASH
        : heads.get(user.id) ?? (db.query(SELECT_USER).get(ORGANIZATION_ID, user.id) as UserRow).head_hash!
      const version = versions.get(user.id)! + 1
      const event = {
        id: `ceiling-${n}`,
        version,
        data: {},
        metadata: { organizationId: ORGANIZATION_ID },
        aggregateType: "User",
        aggregateId: user.id,
        type: "UserPhoneNumberUpdated",
        occurredAt: "2026-01-01T00:00:00.000Z"
      } as unknown as UserPhoneNumberUpdated
      const state = {
        organizationId: ORGANIZATION_ID,
        id: user.id,
        phoneNumber,
        phoneNumberVerified: false,
        erasedAt: null,
        version
      }
      const link = nextLink(previousHash, event)
      const statements = changeStatements({ state, event, previousHash }, link)
      db.transaction(() => {
        for (const s of statements) db.query(s.sql).run(...(s.params as Array<string | number | null>))
      })()
      versions.set(user.id, version)
      heads.set(user.id, link.hash)
    }
    const rate = (withReads: boolean) => {
      const until = performance.now() + seconds * 1000
      const started = performance.now()
      let count = 0
      while (performance.now() < until) {
        one(withReads)
        count++
      }
      return count / ((performance.now() - started) / 1000)
    }
    return { writeTxPerS: rate(false), readWriteTxPerS: rate(true), synchronous }
  } finally {
    db.close()
  }
}
