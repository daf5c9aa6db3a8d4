/**
 * The storage ceiling: how many times per second bun:sqlite commits the service's two-statement write (the
 * users-row UPDATE and the event INSERT of src/layers/sql/rows.ts, triggers included) on a seeded file with
 * the server's pragmas (src/layers/sql/migrate.ts `tuneSqlite`), one transaction each, nothing else around it.
 * Also with the two reads a request makes inside its unit (the user row and the chain head).
 */
import { Database } from "bun:sqlite"
import { join } from "node:path"
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import type { UserPhoneNumberUpdated } from "../../src/domain/events.js"
import type { E164 } from "../../src/domain/phone.js"
import { tuneSqlite } from "../../src/layers/sql/migrate.js"
import { changeStatements, SELECT_USER, type UserRow } from "../../src/layers/sql/rows.js"
import { seedSqliteFile } from "./seed.js"
import { type BenchUser, ORGANIZATION_ID } from "./workload.js"

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
