// Fingerprint openings are written beside their event and deleted by erasure (docs/DECISIONS.md, "Erasure that
// forgets").
import type { PhoneFingerprints } from "../../domain/user.js"
import type { Change } from "../../services/user-repo.js"
import type { Statement } from "./rows.js"

const WHERE_USER = "organization_id = ? AND aggregate_id = ?"
const HAS_FINGERPRINT = "(json_type(data, '$.phoneNumberFingerprint') IS NOT NULL " +
  "OR json_type(data, '$.previousPhoneNumberFingerprint') IS NOT NULL)"

export const fingerprintStatements = (
  { event, fingerprints }: Pick<Change, "event" | "fingerprints">
): ReadonlyArray<Statement> =>
  fingerprints === undefined ? [] : [{
    sql: "INSERT INTO phone_fingerprints (organization_id, aggregate_id, version, fingerprints) VALUES (?, ?, ?, ?)",
    params: [event.metadata.organizationId, event.aggregateId, event.version, JSON.stringify(fingerprints)]
  }]

/** Older events also lose the fingerprints in their data. */
export const forgetStatements = (organizationId: string, userId: string): ReadonlyArray<Statement> => [
  { sql: `DELETE FROM phone_fingerprints WHERE ${WHERE_USER}`, params: [organizationId, userId] },
  {
    sql: "INSERT INTO redacted_events (organization_id, aggregate_id, version) SELECT organization_id, aggregate_id, " +
      `version FROM events WHERE ${WHERE_USER} AND ${HAS_FINGERPRINT}`,
    params: [organizationId, userId]
  },
  {
    sql: "UPDATE events SET data = json_remove(data, '$.phoneNumberFingerprint', '$.previousPhoneNumberFingerprint') " +
      `WHERE ${WHERE_USER} AND ${HAS_FINGERPRINT}`,
    params: [organizationId, userId]
  }
]

export const openingColumns = (alias: string) =>
  `(SELECT f.fingerprints FROM phone_fingerprints f WHERE f.organization_id = ${alias}.organization_id ` +
  `AND f.aggregate_id = ${alias}.aggregate_id AND f.version = ${alias}.version) AS fingerprints, ` +
  `EXISTS (SELECT 1 FROM redacted_events r WHERE r.organization_id = ${alias}.organization_id ` +
  `AND r.aggregate_id = ${alias}.aggregate_id AND r.version = ${alias}.version) AS redacted`

export interface OpeningRow {
  readonly fingerprints: string | null
  readonly redacted: number
}

export const toOpening = (row: OpeningRow): {
  readonly fingerprints?: PhoneFingerprints
  readonly redacted?: true
} => ({
  ...(row.fingerprints === null ? {} : { fingerprints: JSON.parse(row.fingerprints) as PhoneFingerprints }),
  ...(Number(row.redacted) === 1 ? { redacted: true as const } : {})
})
