/**
 * What the code before migrations/0008 wrote, as statements for an SQLite file or D1 at 0007: an organization whose
 * events carry fingerprints inside their hashed data, on per-user chains, sealed by one checkpoint. User `kept` set two
 * numbers; user `gone` set one and was erased.
 */
import { GENESIS_HASH, nextLink } from "../../src/audit/chain.js"
import { headsOf, nextCheckpoint } from "../../src/audit/checkpoint.js"
import type { UserEvent } from "../../src/domain/user.js"
import { checkpointParams, INSERT_CHECKPOINT, type Statement } from "../../src/layers/sql/rows.js"
import { hmacSha256 } from "../../src/sha256.js"

export const OLD_ORG = "org_old"
export const OLD_KEY = "fingerprint-key-before-0008-0123456789abcdef"
export const [N1, N2, N3] = ["+14155552671", "+442079460958", "+16175550123"] as const
export const fingerprintOf = (n: string) => `hmac-sha256:${hmacSha256(OLD_KEY, n).toString("base64url")}`

const AT = "2026-03-01T00:00:00.000Z"
const mask = (n: string) => `****${n.slice(-4)}`

const event = (userId: string, version: number, type: UserEvent["type"], data: object): UserEvent =>
  ({
    id: `${userId}-${version}`,
    type,
    aggregateType: "User",
    aggregateId: userId,
    version,
    occurredAt: AT,
    data,
    metadata: { organizationId: OLD_ORG, actor: { type: "service", id: "svc_old" }, requestId: "old" }
  }) as UserEvent

/** The statements, in order, for a database whose events table is empty (so its events are numbered 1 to 4). */
export const oldHistory = (): ReadonlyArray<Statement> => {
  const history: Array<[UserEvent, string | null, string | null]> = [
    [
      event("kept", 1, "UserCreated", { maskedPhoneNumber: mask(N1), phoneNumberFingerprint: fingerprintOf(N1) }),
      N1,
      null
    ],
    [
      event("gone", 1, "UserCreated", { maskedPhoneNumber: mask(N3), phoneNumberFingerprint: fingerprintOf(N3) }),
      N3,
      null
    ],
    [
      event("kept", 2, "UserPhoneNumberUpdated", {
        maskedPhoneNumber: mask(N2),
        previousMaskedPhoneNumber: mask(N1),
        phoneNumberVerified: false,
        phoneNumberFingerprint: fingerprintOf(N2),
        previousPhoneNumberFingerprint: fingerprintOf(N1)
      }),
      N2,
      null
    ],
    [event("gone", 2, "UserPersonalDataErased", { erasedFields: ["phoneNumber"] }), null, AT]
  ]
  const statements: Array<Statement> = [
    { sql: "INSERT INTO organizations (id, name, created_at) VALUES (?, 'old', ?)", params: [OLD_ORG, AT] }
  ]
  const heads = new Map<string, { aggregateId: string; version: number; hash: string }>()
  for (const [index, [e, phoneNumber, erasedAt]] of history.entries()) {
    statements.push({
      sql: "INSERT INTO users (organization_id, id, phone_number, erased_at, version, created_at, updated_at) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, id) DO UPDATE SET version = excluded.version, " +
        "phone_number = excluded.phone_number, erased_at = excluded.erased_at",
      params: [OLD_ORG, e.aggregateId, phoneNumber, erasedAt, e.version, AT, AT]
    })
    const link = nextLink(heads.get(e.aggregateId)?.hash ?? GENESIS_HASH, e)
    heads.set(e.aggregateId, { aggregateId: e.aggregateId, version: e.version, hash: link.hash })
    statements.push({
      sql: "INSERT INTO events (event_id, organization_id, aggregate_type, aggregate_id, version, type, data, " +
        "metadata, occurred_at, chain_sequence, prev_hash, hash, organization_sequence) " +
        "VALUES (?, ?, 'User', ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
      params: [
        e.id,
        OLD_ORG,
        e.aggregateId,
        e.version,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
        AT,
        link.prevHash,
        link.hash,
        index + 1
      ]
    })
  }
  const checkpoint = nextCheckpoint(undefined, {
    organizationId: OLD_ORG,
    upToEventSequence: history.length,
    eventCount: history.length,
    heads: headsOf([...heads.values()]),
    createdAt: AT
  })
  statements.push({ sql: INSERT_CHECKPOINT, params: checkpointParams(checkpoint) })
  return statements
}
